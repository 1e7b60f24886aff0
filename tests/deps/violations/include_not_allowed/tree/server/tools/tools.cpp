#include "tools/tools.hpp"

#include "config/config.hpp"
#include "core/error.hpp"
