#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "docker/engine.hpp"
#include "tools/tools.hpp"

int main() { return 0; }
