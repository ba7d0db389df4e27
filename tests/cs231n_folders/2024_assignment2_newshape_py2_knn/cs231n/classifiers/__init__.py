from .k_nearest_neighbor import *
from .fc_net import *
from .cnn import *
