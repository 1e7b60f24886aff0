#include "tools/tools.hpp"

#include "core/error.hpp"

// Mentions of getenv in comments and strings are not calls.
const char* kHelp = "settings come from config, never from getenv";
/* setenv( is not called here either */
