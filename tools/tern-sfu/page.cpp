#include "page.h"

#include "tern_sfu_page.h"

namespace tern::tools::sfu_tool {

std::optional<whip::HttpResponse> page_response(const whip::HttpRequest& request) {
  if (request.path != "/" && request.path != "/ui") return std::nullopt;
  whip::HttpResponse response;
  if (request.method != "GET" && request.method != "HEAD") {
    response.status = 405;
    response.add("Allow", "GET, HEAD");
    return response;
  }
  response.status = 200;
  response.add("Content-Type", "text/html; charset=utf-8");
  response.add("Cache-Control", "no-store");
  // Nothing on the page comes from elsewhere: no script, style or frame from another origin.
  response.add("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
  if (request.method == "GET") response.body = kPageHtml;
  return response;
}

}  // namespace tern::tools::sfu_tool
