#pragma once

namespace core {
struct Error {};
}
