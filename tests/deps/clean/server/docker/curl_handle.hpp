#pragma once

// Only docker's own sources include this header, so curl stays PRIVATE.
#include <curl/curl.h>
