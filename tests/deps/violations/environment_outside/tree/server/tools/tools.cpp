#include "tools/tools.hpp"

#include <cstdlib>

#include "core/error.hpp"

// A comment that says getenv is not a call; the line below is one.
const char* path() { return std::getenv("PATH"); }
