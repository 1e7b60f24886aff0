#include "tools.hpp"

#include "core/error.hpp"
