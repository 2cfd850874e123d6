import numpy as np
from util import *
# Accepted variant "loops": the handout's functions written with Python loops over the
# samples (and classes) instead of vectorised numpy. Slower, equally correct.

############################## Q 2.1.2 ##############################
def initialize_weights(in_size, out_size, params, name=''):
    W, b = None, None
    lim = np.sqrt(6.0 / (in_size + out_size))
    W = np.zeros((in_size, out_size))
    for i in range(in_size):
        for j in range(out_size):
            W[i, j] = np.random.uniform(-lim, lim)
    b = np.zeros(out_size)
    params['W' + name] = W
    params['b' + name] = b

############################## Q 2.2.1 ##############################
def _sigmoid_scalar(v):
    if v >= 0:
        return 1.0 / (1.0 + np.exp(-v))
    e = np.exp(v)
    return e / (1.0 + e)

def sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    res = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        res[idx] = _sigmoid_scalar(x[idx])
    return res

def forward(X, params, name='', activation=sigmoid):
    pre_act, post_act = None, None
    W = params['W' + name]
    b = params['b' + name]

    n = X.shape[0]
    pre_act = np.zeros((n, W.shape[1]))
    for i in range(n):
        pre_act[i] = X[i] @ W + b
    post_act = activation(pre_act)

    params['cache_' + name] = (X, pre_act, post_act)
    return post_act

############################## Q 2.2.2  ##############################
def softmax(x):
    res = np.zeros(x.shape)
    for i in range(x.shape[0]):
        row = x[i] - np.max(x[i])
        e = np.exp(row)
        res[i] = e / np.sum(e)
    return res

############################## Q 2.2.3 ##############################
def compute_loss_and_acc(y, probs):
    loss, acc = None, None
    loss = 0.0
    correct = 0
    for i in range(y.shape[0]):
        label = np.argmax(y[i])
        loss -= np.log(probs[i, label])
        if np.argmax(probs[i]) == label:
            correct += 1
    acc = correct / y.shape[0]
    return loss, acc

############################## Q 2.3 ##############################
def sigmoid_deriv(post_act):
    res = post_act*(1.0-post_act)
    return res

def backwards(delta, params, name='', activation_deriv=sigmoid_deriv):
    grad_X, grad_W, grad_b = None, None, None
    W = params['W' + name]
    b = params['b' + name]
    X, pre_act, post_act = params['cache_' + name]

    grad_W = np.zeros(W.shape)
    grad_b = np.zeros(b.shape)
    grad_X = np.zeros(X.shape)
    for i in range(X.shape[0]):
        d = delta[i] * activation_deriv(post_act[i])
        grad_W += np.outer(X[i], d)
        grad_b += d
        grad_X[i] = W @ d

    params['grad_W' + name] = grad_W
    params['grad_b' + name] = grad_b
    return grad_X

############################## Q 2.4 ##############################
def get_random_batches(x, y, batch_size):
    batches = []
    order = np.random.permutation(x.shape[0])
    batch_x, batch_y = [], []
    for i in order:
        batch_x.append(x[i])
        batch_y.append(y[i])
        if len(batch_x) == batch_size:
            batches.append((np.array(batch_x), np.array(batch_y)))
            batch_x, batch_y = [], []
    if batch_x:
        batches.append((np.array(batch_x), np.array(batch_y)))
    return batches
