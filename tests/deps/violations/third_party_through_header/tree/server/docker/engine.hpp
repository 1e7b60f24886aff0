#pragma once

#include <curl/curl.h>

#include "core/error.hpp"
