from .fc_net import *
from .cnn import *
