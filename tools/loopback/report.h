// Output of a tern-loopback run: the JSON document (configuration, summary, per-frame records and
// 100 ms time series) and a self-contained HTML report (summary table and inline SVG line charts
// drawn here: no script, no stylesheet link, no network access).
//
// Deterministic: keys sorted, every number rounded to 3 decimals, no wall-clock value, so the same
// configuration and seed give byte-identical output.
#pragma once

#include <string>
#include <string_view>

#include "tern/tools/loopback/scenario.h"

namespace tern::tools {

// One-line description of the scenario ("vp8 640x480@30 + opus, 2000 kbps, 50 ms ...").
std::string describe(const LoopbackConfig& config);
std::string to_json(const ScenarioResult& result);
std::string to_html(const ScenarioResult& result);
// Text for HTML element content and quoted attribute values (<, >, &, ").
std::string html_escape(std::string_view s);

}  // namespace tern::tools
