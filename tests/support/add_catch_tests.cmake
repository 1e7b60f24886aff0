# Run after a test binary is linked (cmake -P, from mcp_unit_tests in tests/CMakeLists.txt): asks
# the binary for its Catch2 test cases and writes CTEST_FILE, one ctest entry per case, named
# "<TEST_PREFIX>: <case>", running just that case, with TEST_PROPERTIES.
#
# Catch2 v2's own catch_discover_tests cannot be used: it splits a case name at ';' into entries
# whose names match no case (which Catch2 then reports as passed without running anything), and
# `cmake -D` drops the space at the end of a "prefix: ".
#
# In: TEST_EXECUTABLE, TEST_PREFIX, TEST_PROPERTIES (a list), TEST_WORKING_DIR, CTEST_FILE.

execute_process(
  COMMAND "${TEST_EXECUTABLE}" --list-test-names-only
  OUTPUT_VARIABLE output
  RESULT_VARIABLE result
  WORKING_DIRECTORY "${TEST_WORKING_DIR}")
# Catch2 exits with the number of cases listed (capped at 255).
if(NOT result MATCHES "^[0-9]+$" OR result EQUAL 0)
  message(FATAL_ERROR "${TEST_EXECUTABLE} --list-test-names-only: ${result}\n${output}")
endif()

# A bracket argument keeps ';', spaces and quotes of a name as they are.
function(bracket value out)
  set(${out} "[==[${value}]==]" PARENT_SCOPE)
endfunction()

set(properties "")
foreach(property IN LISTS TEST_PROPERTIES)
  bracket("${property}" quoted)
  string(APPEND properties " ${quoted}")
endforeach()

set(script "")
set(count 0)
# Line by line with string(FIND): a CMake list would split at every ';' in a name.
set(rest "${output}")
while(NOT rest STREQUAL "")
  string(FIND "${rest}" "\n" end)
  if(end EQUAL -1)
    set(name "${rest}")
    set(rest "")
  else()
    string(SUBSTRING "${rest}" 0 ${end} name)
    math(EXPR next "${end} + 1")
    string(SUBSTRING "${rest}" ${next} -1 rest)
  endif()
  string(REGEX REPLACE "\r$" "" name "${name}")
  if(name STREQUAL "")
    continue()
  endif()
  # Catch2 quotes a name that starts with '#' in this listing.
  if(name MATCHES "^\"#.*\"$")
    string(REGEX REPLACE "^\"(.*)\"$" "\\1" name "${name}")
  endif()
  # A test spec matching exactly this name: the characters the spec parser gives a meaning
  # (escape, separator, tag brackets, wildcard, exclusion, quotes) are escaped.
  set(spec "${name}")
  foreach(special "\\" "," "[" "]" "*" "~" "\"")
    string(REPLACE "${special}" "\\${special}" spec "${spec}")
  endforeach()
  bracket("${TEST_PREFIX}: ${name}" entry)
  bracket("${spec}" spec)
  bracket("${TEST_EXECUTABLE}" executable)
  string(APPEND script "add_test(${entry} ${executable} ${spec})\n")
  string(APPEND script "set_tests_properties(${entry} PROPERTIES WORKING_DIRECTORY [==[${TEST_WORKING_DIR}]==]${properties})\n")
  math(EXPR count "${count} + 1")
endwhile()

if(count EQUAL 0)
  message(FATAL_ERROR "${TEST_EXECUTABLE} listed no test case")
endif()
file(WRITE "${CTEST_FILE}" "${script}")
