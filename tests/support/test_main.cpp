// main() of every unit test binary: Catch2's, with cases tagged [root] skipped (exit 77) when not root.
#include "support/test_session.hpp"

int main(int argc, char** argv) { return testing::run_tests(argc, argv); }
