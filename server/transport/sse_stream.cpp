#include "transport/sse_stream.hpp"

#include "http/message.hpp"
#include <utility>

namespace transport {

std::string sse_event(std::string_view data, std::string_view event) {
  std::string frame;
  frame.reserve(data.size() + event.size() + 16);
  frame.append("event: ").append(event).append("\n");
  // A data line ends at a newline, so multi-line data becomes several data lines (the client rejoins them).
  std::size_t start = 0;
  while (true) {
    const auto end = data.find('\n', start);
    frame.append("data: ").append(data.substr(start, end - start)).append("\n");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  frame.append("\n");
  return frame;
}

std::string sse_comment(std::string_view text) { return ": " + std::string(text) + "\n\n"; }

bool SseQueue::push(std::string frame) {
  {
    const std::scoped_lock lock(m_mutex);
    if (m_closed) return false;
    m_frames.push_back(std::move(frame));
  }
  m_changed.notify_all();
  return true;
}

void SseQueue::close() {
  {
    const std::scoped_lock lock(m_mutex);
    m_closed = true;
  }
  m_changed.notify_all();
}

bool SseQueue::closed() const {
  const std::scoped_lock lock(m_mutex);
  return m_closed;
}

SseQueue::Next SseQueue::next(std::string& frame, std::chrono::milliseconds wait) {
  std::unique_lock lock(m_mutex);
  m_changed.wait_for(lock, wait, [this] { return !m_frames.empty() || m_closed; });
  if (!m_frames.empty()) {
    frame = std::move(m_frames.front());
    m_frames.pop_front();
    return Next::frame;
  }
  return m_closed ? Next::closed : Next::idle;
}

void stream_queue(http::Response& response, std::shared_ptr<SseQueue> queue, std::chrono::milliseconds keepalive,
                  std::function<void()> on_end) {
  response.set_header("Content-Type", "text/event-stream");
  response.set_header("Cache-Control", "no-cache");
  // nginx and similar proxies buffer responses unless told not to, which would hold events back.
  response.set_header("X-Accel-Buffering", "no");
  // Runs once on the serving thread; a failed write (the client went away) ends it.
  response.stream = [queue, keepalive, on_end = std::move(on_end)](http::BodyWriter& out) {
    static const std::string kKeepAlive = sse_comment("keep-alive");
    std::string frame;
    bool open = true;
    while (open) {
      switch (queue->next(frame, keepalive)) {
        case SseQueue::Next::frame: open = out.write(frame); break;
        case SseQueue::Next::idle: open = out.write(kKeepAlive); break;
        case SseQueue::Next::closed: open = false; break;
      }
    }
    queue->close();
    if (on_end) on_end();
  };
}

}  // namespace transport
