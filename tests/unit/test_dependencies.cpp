#include <catch2/catch.hpp>

#include "runner/dependencies.hpp"

using runner::check_dependencies;

TEST_CASE("dependencies: Python specs in PEP 508's name, extras and version form are taken, sorted, once each") {
  const auto checked = check_dependencies(
      "pip", {"requests==2.31", "numpy", "pandas[excel,performance]>=2,<3", "zope.interface~=6.0", "Django!=4.0.*",
                 "pkg===1.0+local.7", "epoch>=1!2.0", "numpy"});
  REQUIRE(checked);
  CHECK(checked->installer == runner::Installer::pip);
  CHECK(checked->specs == std::vector<std::string>{"Django!=4.0.*", "epoch>=1!2.0", "numpy",
                                                   "pandas[excel,performance]>=2,<3", "pkg===1.0+local.7",
                                                   "requests==2.31", "zope.interface~=6.0"});
  CHECK(check_dependencies("pip", {})->specs.empty());
}

TEST_CASE("dependencies: npm names with a scope and a version range or tag are taken") {
  {
    const auto checked =
        check_dependencies("npm", {"left-pad", "@scope/name@^1.2.3", "lodash@4.17.21", "react@latest",
                                      "semver@>=1.0.0<2", "a@1.x||2.x", "is-odd@~3"});
    REQUIRE(checked);
    CHECK(checked->installer == runner::Installer::npm);
    CHECK(checked->specs.size() == 7);
  }
}

TEST_CASE("dependencies: anything an installer could read as other than a registry package is refused") {
  // Options, URLs, paths, VCS, markers, shells' metacharacters, whitespace, control and non-ASCII bytes.
  for (const char* entry :
       {"-r/etc/passwd", "--index-url=http://evil.test/simple", "-e.", "--target=/", "requests @ http://evil.test/r.whl",
        "git+https://evil.test/r.git", "./local", "../up", "/abs/path", "file:/tmp/x", "requests; os_name=='nt'",
        "requests==2.31;rm -rf /", "a b", "a\tb", "a\nb", "$(id)", "`id`", "a|b", "a&&b", "a>b;c", "requests==",
        "requests[", "requests[]", "[extra]", ".hidden", "name.", "ä", "req\x01uests", "requests==2.31\n",
        "requests===", "http://evil.test/x.tar.gz"}) {
    CAPTURE(entry);
    const auto refused = check_dependencies("pip", {entry});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == core::ErrorKind::invalid_argument);
  }
  for (const char* entry :
       {"-g", "--registry=http://evil.test", "git+ssh://git@evil.test/x.git", "github:user/repo", "user/repo",
        "file:../x", "./x", "/x", "http://evil.test/x.tgz", "Left-Pad", "@Scope/x", "@scope/", "@/x", "x@", "x@ 1",
        "x@1 || 2", "x@$(id)", "x@`id`", "x;id", "x@npm:y", "_private", ".dot", "x@1\n", "x@../../y"}) {
    CAPTURE(entry);
    REQUIRE_FALSE(check_dependencies("npm", {entry}));
  }
  // The refusal names the entry made printable, and what a spec looks like.
  const auto named = check_dependencies("pip", {"a\nb"});
  REQUIRE_FALSE(named);
  CHECK(named.error().message ==
        "dependency 'a\\x0ab' is not a Python package name with optional [extras] and version clauses (e.g. requests==2.31)");
}

TEST_CASE("dependencies: count and length caps, and an installer without a grammar") {
  std::vector<std::string> many;
  for (int i = 0; i < 17; ++i) many.push_back("p" + std::to_string(i));
  auto refused = check_dependencies("pip", many);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "at most 16 dependencies are allowed (got 17)");
  many.pop_back();
  CHECK(check_dependencies("pip", many));
  CHECK(check_dependencies("pip", {std::string(128, 'a')}));
  refused = check_dependencies("pip", {std::string(129, 'a')});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "a dependency must be 1 to 128 characters");
  CHECK_FALSE(check_dependencies("pip", {""}));
  refused = check_dependencies("apt", {"jq"});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "no package grammar for installer 'apt'");
}
