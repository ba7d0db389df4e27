from cs231n.classifiers.fc_net import *
from cs231n.classifiers.cnn import *
