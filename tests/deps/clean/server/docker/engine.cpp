#include "docker/engine.hpp"

#include <nlohmann/json.hpp>

#include "docker/curl_handle.hpp"
