#include <catch2/catch.hpp>

#include <string>

#include "docker/stream_demux.hpp"
#include "support/fake_http_engine.hpp"

using docker::StreamDemux;
using test::frame;

namespace {

constexpr std::size_t kLarge = 1 << 20;

// A stream with every kind of frame: stdin echo, stdout, stderr, an empty frame.
std::string mixed_stream() {
  return frame(1, "hello ") + frame(2, "oops\n") + frame(1, "") + frame(0, "echo") + frame(1, "world\n") +
         frame(2, "again");
}

}  // namespace

TEST_CASE("demux routes stdin echo and stdout to out, stderr to err") {
  StreamDemux demux(kLarge, kLarge);
  demux.feed(mixed_stream());
  CHECK(demux.out() == "hello echoworld\n");
  CHECK(demux.err() == "oops\nagain");
  CHECK_FALSE(demux.truncated());
  CHECK_FALSE(demux.partial_frame());
}

TEST_CASE("demux gives the same result wherever the stream is split in two") {
  const std::string stream = mixed_stream();
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    CAPTURE(split);
    StreamDemux demux(kLarge, kLarge);
    demux.feed(std::string_view(stream).substr(0, split));
    demux.feed(std::string_view(stream).substr(split));
    CHECK(demux.out() == "hello echoworld\n");
    CHECK(demux.err() == "oops\nagain");
    CHECK_FALSE(demux.partial_frame());
  }
}

TEST_CASE("demux handles a stream fed one byte at a time") {
  const std::string stream = mixed_stream();
  StreamDemux demux(kLarge, kLarge);
  for (const char c : stream) {
    demux.feed(std::string_view(&c, 1));
  }
  CHECK(demux.out() == "hello echoworld\n");
  CHECK(demux.err() == "oops\nagain");
}

TEST_CASE("demux reports a stream that ends inside a frame") {
  const std::string stream = frame(1, "abcdef");
  SECTION("inside the header") {
    StreamDemux demux(kLarge, kLarge);
    demux.feed(std::string_view(stream).substr(0, 3));
    CHECK(demux.partial_frame());
    CHECK(demux.out().empty());
  }
  SECTION("inside the payload") {
    StreamDemux demux(kLarge, kLarge);
    demux.feed(std::string_view(stream).substr(0, 10));
    CHECK(demux.partial_frame());
    CHECK(demux.out() == "ab");
  }
  SECTION("an empty chunk changes nothing") {
    StreamDemux demux(kLarge, kLarge);
    demux.feed("");
    CHECK_FALSE(demux.partial_frame());
    CHECK(demux.out().empty());
  }
}

TEST_CASE("demux keeps each stream under its cap and counts the rest") {
  StreamDemux demux(4, 2);
  demux.feed(frame(1, "abc") + frame(2, "xyz") + frame(1, "defgh") + frame(2, "!"));
  CHECK(demux.out() == "abcd");
  CHECK(demux.dropped_out() == 4);
  CHECK(demux.err() == "xy");
  CHECK(demux.dropped_err() == 2);
  CHECK(demux.truncated());
  CHECK_FALSE(demux.partial_frame());
}

TEST_CASE("demux cap reached in the middle of a frame split across chunks") {
  const std::string stream = frame(1, "0123456789") + frame(2, "e");
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    CAPTURE(split);
    StreamDemux demux(5, 5);
    demux.feed(std::string_view(stream).substr(0, split));
    demux.feed(std::string_view(stream).substr(split));
    CHECK(demux.out() == "01234");
    CHECK(demux.dropped_out() == 5);
    CHECK(demux.err() == "e");
  }
}

TEST_CASE("demux with zero caps keeps nothing and counts everything") {
  StreamDemux demux(0, 0);
  demux.feed(mixed_stream());
  CHECK(demux.out().empty());
  CHECK(demux.err().empty());
  CHECK(demux.dropped_out() == 16);
  CHECK(demux.dropped_err() == 10);
  CHECK(demux.truncated());
}

TEST_CASE("demux memory stays at the cap however much is fed") {
  StreamDemux demux(1024, 1024);
  const std::string chunk = frame(1, std::string(64 * 1024, 'x'));
  for (int i = 0; i < 256; ++i) {
    demux.feed(chunk);
  }
  CHECK(demux.out().size() == 1024);
  CHECK(demux.out().capacity() < 4096);
  CHECK(demux.dropped_out() == 256U * 64U * 1024U - 1024U);
}

TEST_CASE("demux reads the frame length as big-endian over all four bytes") {
  const std::string payload(0x010203, 'p');
  StreamDemux demux(kLarge, kLarge);
  demux.feed(frame(1, payload) + frame(2, "tail"));
  CHECK(demux.out().size() == payload.size());
  CHECK(demux.err() == "tail");
}

TEST_CASE("demux sends unknown stream ids (the engine's own errors) to err") {
  StreamDemux demux(kLarge, kLarge);
  demux.feed(frame(3, "engine failure"));
  CHECK(demux.out().empty());
  CHECK(demux.err() == "engine failure");
}

namespace {

// What a run's bootstrap writes: the program's output, then "<token> <status>" on each stream.
std::string ended_stream(const std::string& token, int status) {
  const std::string line = token + " " + std::to_string(status) + "\n";
  return frame(1, "out 1\n") + frame(2, "err 1\n") + frame(1, "out 2") + frame(1, line) + frame(2, line);
}

}  // namespace

TEST_CASE("demux end lines: both streams' lines give the status and are not output, wherever the stream is split") {
  const std::string stream = ended_stream("c0ffee", 3);
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    CAPTURE(split);
    StreamDemux demux(kLarge, kLarge);
    demux.end_at_line("c0ffee");
    demux.feed(std::string_view(stream).substr(0, split));
    demux.feed(std::string_view(stream).substr(split));
    REQUIRE(demux.end_status() == 3);
    demux.finish();
    CHECK(demux.out() == "out 1\nout 2");
    CHECK(demux.err() == "err 1\n");
    CHECK_FALSE(demux.truncated());
  }
}

TEST_CASE("demux end lines: one stream's line is not the end; the other's completes it") {
  StreamDemux demux(kLarge, kLarge);
  demux.end_at_line("tok");
  demux.feed(frame(1, "x\ntok 0\n"));
  CHECK_FALSE(demux.end_status());
  demux.feed(frame(2, "tok 1\n"));
  CHECK(demux.end_status() == 0);  // stdout's, if a forged line made them differ
}

TEST_CASE("demux end lines: anything that is not exactly the token, a status and a newline stays output") {
  for (const std::string text : {"other 0\n", "tok x\n", "tok \n", "tok 256\n", "tok 1000\n", "tok 0 \n", "tok0\n",
                                  "xtok", "to", "tok 12"}) {
    CAPTURE(text);
    StreamDemux demux(kLarge, kLarge);
    demux.end_at_line("tok");
    for (const char ch : text) demux.feed(frame(1, std::string(1, ch)));  // one byte per frame
    demux.feed(frame(2, "tok 0\n"));
    CHECK_FALSE(demux.end_status());
    demux.finish();
    CHECK(demux.out() == text);
  }
}

TEST_CASE("demux end lines: a line after other text on the same line still ends the stream") {
  StreamDemux demux(kLarge, kLarge);
  demux.end_at_line("tok");
  demux.feed(frame(1, "no newlinetok 7\n") + frame(2, "Killed\ntok 7\n"));
  CHECK(demux.end_status() == 7);
  CHECK(demux.out() == "no newline");
  CHECK(demux.err() == "Killed\n");
}

TEST_CASE("demux end lines: what follows an end line is dropped, not counted as truncation") {
  StreamDemux demux(kLarge, kLarge);
  demux.end_at_line("tok");
  demux.feed(frame(1, "a\ntok 0\nleft behind\n") + frame(1, "more") + frame(2, "tok 0\nlate"));
  demux.finish();
  CHECK(demux.end_status() == 0);
  CHECK(demux.out() == "a\n");
  CHECK(demux.err().empty());
  CHECK_FALSE(demux.truncated());
}

TEST_CASE("demux end lines: found after output past the cap, which is counted as before") {
  StreamDemux demux(4, 4);
  demux.end_at_line("tok");
  demux.feed(frame(1, std::string(100, 'x') + "tok 0\n") + frame(2, "tok 0\n"));
  CHECK(demux.end_status() == 0);
  CHECK(demux.out() == "xxxx");
  CHECK(demux.dropped_out() == 96);
}

TEST_CASE("demux end lines: finish keeps the bytes held back at the end of a stream that had no end line") {
  StreamDemux demux(kLarge, kLarge);
  demux.end_at_line("tok");
  demux.feed(frame(1, "data then to"));
  CHECK(demux.out() == "data then ");
  demux.finish();
  CHECK(demux.out() == "data then to");
  CHECK_FALSE(demux.end_status());
}
