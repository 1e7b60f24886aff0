#include "egress/grant.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/fd.hpp"
#include "core/random.hpp"

namespace egress {

namespace {

constexpr std::size_t kMaxGrantBytes = 64 * 1024;

std::string file_of(const std::string& directory, std::string_view run_id) {
  return directory + "/" + std::string(run_id) + ".json";
}

}  // namespace

bool valid_run_id(std::string_view run_id) {
  if (run_id.size() < 8 || run_id.size() > 64) return false;
  for (const char c : run_id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string grant_to_json(const Grant& grant) {
  nlohmann::json json = {{"run_id", grant.run_id},   {"token", grant.token},
                         {"policy", grant.policy},   {"hosts", grant.hosts.to_strings()},
                         {"ports", grant.ports},     {"max_bytes", grant.max_bytes},
                         {"max_connections", grant.max_connections},
                         {"max_bytes_per_second", grant.max_bytes_per_second}};
  return json.dump();
}

core::Result<Grant> grant_from_json(std::string_view text) {
  try {
    const auto json = nlohmann::json::parse(text);
    Grant grant;
    grant.run_id = json.at("run_id").get<std::string>();
    grant.token = json.at("token").get<std::string>();
    grant.policy = json.at("policy").get<std::string>();
    auto hosts = HostPatterns::parse(json.at("hosts").get<std::vector<std::string>>());
    if (!hosts) return core::fail(hosts.error());
    grant.hosts = std::move(*hosts);
    grant.ports = json.at("ports").get<std::vector<int>>();
    grant.max_bytes = json.at("max_bytes").get<std::uint64_t>();
    grant.max_connections = json.at("max_connections").get<int>();
    grant.max_bytes_per_second = json.value("max_bytes_per_second", std::uint64_t{0});
    if (!valid_run_id(grant.run_id) || grant.token.size() < 16) {
      return core::fail(core::ErrorKind::invalid_argument, "grant has a malformed run id or token");
    }
    return grant;
  } catch (const nlohmann::json::exception& error) {
    return core::fail(core::ErrorKind::invalid_argument, std::string("grant is not valid JSON: ") + error.what());
  }
}

core::Result<void> GrantDirectory::prepare() const {
  if (::mkdir(m_path.c_str(), 0700) != 0 && errno != EEXIST) {
    return core::fail(core::ErrorKind::unavailable, "cannot create " + m_path + ": " + std::strerror(errno));
  }
  return {};
}

core::Result<void> GrantDirectory::put(const Grant& grant) const {
  if (!valid_run_id(grant.run_id)) return core::fail(core::ErrorKind::internal, "malformed run id for a grant");
  const std::string text = grant_to_json(grant);
  const std::string final_path = file_of(m_path, grant.run_id);
  const std::string temporary = final_path + ".tmp-" + core::random_hex(8);
  core::Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return core::fail(core::ErrorKind::unavailable, "cannot write a grant in " + m_path + ": " + std::strerror(errno));
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    ::unlink(temporary.c_str());
    return core::fail(core::ErrorKind::unavailable, "cannot write a grant in " + m_path);
  }
  fd = core::Fd();
  if (::rename(temporary.c_str(), final_path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return core::fail(core::ErrorKind::unavailable, "cannot place a grant in " + m_path + ": " + std::strerror(errno));
  }
  return {};
}

void GrantDirectory::remove(std::string_view run_id) const {
  if (valid_run_id(run_id)) ::unlink(file_of(m_path, run_id).c_str());
}

std::optional<Grant> GrantDirectory::find(std::string_view run_id) const {
  if (!valid_run_id(run_id)) return std::nullopt;
  core::Fd fd(::open(file_of(m_path, run_id).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return std::nullopt;
  std::string text(kMaxGrantBytes + 1, '\0');
  std::size_t used = 0;
  while (used < text.size()) {
    const auto n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > kMaxGrantBytes) return std::nullopt;
  text.resize(used);
  auto grant = grant_from_json(text);
  if (!grant || grant->run_id != run_id) return std::nullopt;
  return std::move(*grant);
}

}  // namespace egress
