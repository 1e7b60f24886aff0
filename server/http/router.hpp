#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace http {

/// Routes by method and path: exact paths, or a prefix that ends with '/'. HEAD is answered by the
/// GET route (the server drops the body). Register every route before the server listens.
class Router {
 public:
  /// Serves `method` on exactly `path`.
  void add(std::string method, std::string path, Handler handler);
  /// Serves `method` on every path that starts with `prefix` (which ends with '/').
  void add_prefix(std::string method, std::string prefix, Handler handler);

  /// What a request's method and path lead to: a handler, or the status to answer with
  /// (404 no such path, 405 with `allow` set for a path that takes other methods).
  struct Match {
    const Handler* handler = nullptr;
    int status = 404;
    std::string allow;  ///< the methods the path takes, for 405's Allow header
  };
  [[nodiscard]] Match find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix = false;
    Handler handler;
  };
  std::vector<Route> m_routes;
};

}  // namespace http
