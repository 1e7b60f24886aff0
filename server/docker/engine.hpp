#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "docker/stream_demux.hpp"
#include "docker/types.hpp"

namespace docker {

using core::Result;
using Clock = std::chrono::steady_clock;

/// How a pump of an attached stream ended.
enum class PumpEnd {
  eof,       ///< the container closed its output (the process exited)
  deadline,  ///< the deadline passed first; the stream is still open
  end_line,  ///< both streams carried the sink's end line (StreamDemux::end_at_line); the stream is still open
};

/// A hijacked POST /containers/{id}/attach connection (stdin, stdout, stderr).
/// Made before the container starts so no output is lost.
class Attachment {
 public:
  virtual ~Attachment() = default;

  /// Reads the multiplexed output into `sink` until the container closes its
  /// side (eof) or `deadline` passes, while writing stdin. The first call's
  /// `input` is the whole of stdin: it is kept and written as the program
  /// reads it, across later calls, then stdin is half-closed (EOF for the
  /// program); later calls' `input` is ignored. Input the program never reads
  /// does not block reading. Call again after `deadline` to keep reading
  /// (e.g. in slices, or after killing the container).
  virtual Result<PumpEnd> pump(std::string_view input, Clock::time_point deadline, StreamDemux& sink) = 0;

  /// Before the first pump: whether the connection is open and nothing has arrived on it. A
  /// process blocked reading its stdin (a warm container's bootstrap) has written nothing; once it
  /// exits, or the container is removed or the engine restarts, the engine closes the stream. So
  /// this answers "still waiting for its code?" without an engine call.
  [[nodiscard]] virtual bool silent() = 0;
};

/// The Docker Engine API calls this product uses. One method per endpoint;
/// transport failures come back as `unavailable`/`timeout`, engine answers as
/// `invalid_argument` (400), `not_found` (404), `conflict` (409) or `internal`
/// (5xx), always with the engine's own message.
class Engine {
 public:
  virtual ~Engine() = default;

  /// GET /_ping. Succeeds when the engine answers.
  virtual Result<void> ping() = 0;
  /// GET /version.
  virtual Result<EngineVersion> version() = 0;
  /// GET /info.
  virtual Result<EngineInfo> info() = 0;
  /// The API version every later call is made with ("1.41", ...).
  [[nodiscard]] virtual std::string api_version() const = 0;

  /// GET /images/json?filters={"label":[label]}; `label` is "key" or "key=value".
  virtual Result<std::vector<ImageSummary>> list_images(std::string_view label) = 0;
  /// GET /images/{name}/json, mapped to a summary (id, tags, labels, created, size).
  virtual Result<ImageSummary> inspect_image(std::string_view name) = 0;

  /// POST /containers/create. Returns the new container's id.
  virtual Result<std::string> create_container(const ContainerSpec& spec) = 0;
  /// POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1 (hijacked).
  virtual Result<std::unique_ptr<Attachment>> attach(std::string_view id) = 0;
  /// POST /containers/{id}/start.
  virtual Result<void> start_container(std::string_view id) = 0;
  /// POST /containers/{id}/wait?condition=not-running, bounded by `timeout`.
  virtual Result<WaitResult> wait_container(std::string_view id, std::chrono::milliseconds timeout) = 0;
  /// GET /containers/{id}/json, the state part and the applied limits.
  virtual Result<ContainerState> inspect_container(std::string_view id) = 0;
  /// GET /containers/{id}/stats?stream=0&one-shot=1 (API 1.41; older engines
  /// ignore one-shot and take a second sample, about a second later).
  virtual Result<ContainerStats> container_stats(std::string_view id) = 0;
  /// POST /containers/{id}/kill (SIGKILL). A container that is not running is not an error.
  virtual Result<void> kill_container(std::string_view id) = 0;
  /// DELETE /containers/{id}?force=1&v=1. A container already gone is not an error.
  virtual Result<void> remove_container(std::string_view id) = 0;
  /// GET /containers/json?all=1&filters={"label":[label]}.
  virtual Result<std::vector<ContainerSummary>> list_containers(std::string_view label) = 0;
};

}  // namespace docker
