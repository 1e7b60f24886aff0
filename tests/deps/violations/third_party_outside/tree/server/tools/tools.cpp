#include "tools/tools.hpp"

#include <curl/curl.h>

#include "core/error.hpp"
