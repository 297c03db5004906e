// tern-sfu's live page: GET / and GET /ui answer tools/tern-sfu/page.html (embedded at build time),
// which polls GET /stats and plots each session's series (bitrate in/out, packets lost, NACKs,
// PLI/FIR, RTT, fps). Other methods on those paths get 405.
#pragma once

#include <optional>

#include "tern/whip/http_message.h"

namespace tern::tools::sfu_tool {

// The page's response when `request` is for it, nullopt otherwise.
std::optional<whip::HttpResponse> page_response(const whip::HttpRequest& request);

}  // namespace tern::tools::sfu_tool
