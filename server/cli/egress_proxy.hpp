#pragma once

#include <ostream>

#include "config/config.hpp"

namespace cli {

/// The `egress-proxy` subcommand: the filtering proxy that is the only way out of EGRESS_NETWORK
/// (egress::Proxy), reading per-run grants from EGRESS_GRANTS_DIR, logging each decision and
/// counting it (served as Prometheus text on EGRESS_METRICS_LISTEN when set). Runs until SIGTERM
/// or SIGINT. It needs no engine and no secret: a deployment runs it in its own container, on
/// the internal network and one network with a way out, and nothing else. Returns the exit status.
int egress_proxy(const config::Config& config, std::ostream& err);

}  // namespace cli
