#include "flipout.hpp"

#define TAPIR_ESTIMATOR flipout
#define TAPIR_SUFFIX Flipout
#include "variational_classes.inc"
