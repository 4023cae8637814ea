// Precompiled header shared by every sprout target: the torch tensor API and the
// standard library pieces nearly every file uses. Keep it to what is widely used.
#pragma once
#include <torch/types.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>
