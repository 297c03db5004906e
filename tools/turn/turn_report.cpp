#include "tern/tools/turn/turn_report.h"

#include <nlohmann/json.hpp>

namespace tern::tools::turn {

std::string relay_report_json(const TurnRelay& relay, int signal_number) {
  const auto& c = relay.server().counters();
  const TurnRelayStats s = relay.stats();
  nlohmann::json j;
  j["signal"] = signal_number;
  j["allocations_created"] = c.allocations_created;
  j["allocations_open"] = relay.server().allocation_count();
  j["relayed_to_peer"] = c.relayed_to_peer;
  j["relayed_to_client"] = c.relayed_to_client;
  j["rejected"] = {{"unauthenticated", c.rejected_unauthenticated}, {"bad_credentials", c.rejected_bad_credentials},
                   {"stale_nonce", c.rejected_stale_nonce},         {"bad_request", c.rejected_bad_request},
                   {"unknown_attribute", c.rejected_unknown_attribute}, {"mismatch", c.rejected_mismatch},
                   {"transport", c.rejected_transport},             {"family", c.rejected_family},
                   {"forbidden", c.rejected_forbidden},             {"user_quota", c.rejected_user_quota},
                   {"global_quota", c.rejected_global_quota},       {"capacity", c.rejected_capacity}};
  j["dropped"] = {{"malformed", c.malformed},
                  {"no_permission", c.send_no_permission + c.peer_no_permission},
                  {"no_allocation", c.send_no_allocation + c.peer_no_allocation},
                  {"channel_unbound", c.channel_data_unbound},
                  {"link_loss", s.to_peer.dropped_loss + s.to_client.dropped_loss},
                  {"link_queue", s.to_peer.dropped_queue + s.to_client.dropped_queue},
                  {"send_failures", s.send_failures},
                  {"tcp_send", s.tcp_send_drops}};
  j["tcp"] = {{"accepted", s.tcp_accepted},      {"refused", s.tcp_refused},
              {"closed", s.tcp_closed},          {"idle_closed", s.tcp_idle_closed},
              {"stream_errors", s.tcp_stream_errors}, {"allocations_closed", c.closed_with_connection}};
  return j.dump();
}

}  // namespace tern::tools::turn
