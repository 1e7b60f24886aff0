# Warnings and sanitizers as INTERFACE targets, linked only by our own targets
# so third-party headers never break the build.
add_library(project_warnings INTERFACE)
target_compile_options(project_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wformat=2
  $<$<BOOL:${MCP_SANDBOX_WERROR}>:-Werror>)
option(MCP_SANDBOX_WERROR "Treat warnings as errors" ON)

option(MCP_SANDBOX_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
add_library(project_sanitizers INTERFACE)
# Fuzzing builds instrument every library of ours for coverage (and ASan/UBSan).
if(MCP_SANDBOX_FUZZ)
  set(MCP_SANDBOX_SANITIZE ON)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
if(MCP_SANDBOX_SANITIZE)
  target_compile_options(project_sanitizers INTERFACE -fsanitize=address,undefined -fno-sanitize-recover=all
                         -fno-omit-frame-pointer)
  target_link_options(project_sanitizers INTERFACE -fsanitize=address,undefined)
  # GCC's flow analysis gives false "maybe uninitialized" warnings inside
  # libstdc++ (<regex>) once ASan instruments it.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(project_sanitizers INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()

add_library(project_options INTERFACE)
target_link_libraries(project_options INTERFACE project_warnings project_sanitizers)
