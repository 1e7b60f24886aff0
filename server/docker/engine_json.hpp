#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "docker/types.hpp"

/// Pure mapping between our types and the Docker Engine API's JSON. Parsers
/// tolerate missing and null fields (the engine omits or nulls many of them);
/// a body that is not JSON or has a field of the wrong type is `internal`.
namespace docker::engine_json {

/// The body of POST /containers/create; empty and zero fields are left out so the engine's default applies.
std::string create_container_body(const ContainerSpec& spec);

/// The `filters` query value selecting by one label ("key" or "key=value"), before URL escaping.
std::string label_filter(std::string_view label);

/// The human part of an engine error body: `{"message": ...}`, or the trimmed text some endpoints send instead.
std::string error_message(std::string_view body);

/// POST /containers/create answer -> the new container's id.
core::Result<std::string> parse_created_id(std::string_view body);
/// GET /version.
core::Result<EngineVersion> parse_version(std::string_view body);
/// GET /info.
core::Result<EngineInfo> parse_info(std::string_view body);
/// GET /images/json.
core::Result<std::vector<ImageSummary>> parse_image_list(std::string_view body);
/// GET /images/{name}/json, whose shape differs from a list entry (labels under Config, Created as RFC 3339).
core::Result<ImageSummary> parse_image_inspect(std::string_view body);
/// GET /containers/json.
core::Result<std::vector<ContainerSummary>> parse_container_list(std::string_view body);
/// The State object of GET /containers/{id}/json, with HostConfig's runtime and limits.
core::Result<ContainerState> parse_container_state(std::string_view body);
/// GET /containers/{id}/stats?stream=0, cgroup v1 and v2 alike (the engine maps both to one shape).
core::Result<ContainerStats> parse_container_stats(std::string_view body);
/// POST /containers/{id}/wait.
core::Result<WaitResult> parse_wait(std::string_view body);

/// Unix seconds of an RFC 3339 time as the engine writes it ("2024-01-02T03:04:05.123456789Z", or with an offset).
core::Result<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace docker::engine_json
