// sprout as a library: #include <sprout/sprout.h> (installed by cmake/install.cmake).
#pragma once

#include "launch/api/sprout.h"
