#include "http/router.hpp"

namespace http {

void Router::add(std::string method, std::string path, Handler handler) {
  m_routes.push_back(Route{std::move(method), std::move(path), false, std::move(handler)});
}

void Router::add_prefix(std::string method, std::string prefix, Handler handler) {
  m_routes.push_back(Route{std::move(method), std::move(prefix), true, std::move(handler)});
}

Router::Match Router::find(std::string_view method, std::string_view path) const {
  Match match;
  const std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
  for (const auto& route : m_routes) {
    const bool path_matches =
        route.prefix ? path.size() > route.path.size() && path.substr(0, route.path.size()) == route.path
                     : path == route.path;
    if (!path_matches) continue;
    if (route.method == wanted) {
      match.handler = &route.handler;
      match.status = 200;
      return match;
    }
    match.status = 405;
    if (match.allow.find(route.method) == std::string::npos) {
      match.allow += (match.allow.empty() ? "" : ", ") + route.method;
      if (route.method == "GET") match.allow += ", HEAD";
    }
  }
  return match;
}

}  // namespace http
