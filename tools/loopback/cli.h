// Command line of tern-loopback (CLI11): a preset first, then every explicit option on top of it,
// each value checked with a message that names the option and the accepted values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tern/tools/loopback/loopback_config.h"

namespace tern::tools {

struct CliOutcome {
  std::optional<LoopbackConfig> config;  // set when the run should go ahead
  int exit_code = 0;                     // when config is unset: 0 (help/list shown) or 2 (bad option)
  std::string message;                   // help text, preset list or the error (without "error: ")
  bool show_progress = true;             // --no-progress clears it
};

// `args` without the program name. Never throws.
CliOutcome parse_command_line(const std::vector<std::string>& args);

// Parses "2mbps", "800kbps", "800k", "1.5M", "800" (kbps) or "unlimited".
std::optional<DataRate> parse_rate(const std::string& text);

}  // namespace tern::tools
