#include "config/config.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>

const char* home() { return std::getenv("HOME"); }
