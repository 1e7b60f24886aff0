#pragma once

#include "docker/engine.hpp"
