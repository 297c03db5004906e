#include "tern/sfu/sfu_session.h"

#include <utility>

#include "tern/transport/demuxer.h"
#include "tern/transport/srtp_key.h"

namespace tern::sfu {

Result<std::unique_ptr<SfuSession>> SfuSession::Create(const SfuSessionConfig& config, Timestamp now) {
  if (!config.certificate) return Error{"sfu session: no certificate"};
  ice::IceAgentConfig ac;
  ac.lite = true;
  ac.role = ice::IceRole::kControlled;
  ac.sockets = {ice::LocalSocket{kUdpSocket, config.server_address, {}}};
  // Below every UDP candidate (RFC 6544 4.2: TCP is the fallback).
  if (config.tcp_address) ac.sockets.push_back(ice::LocalSocket{kTcpSocket, *config.tcp_address, uint16_t{0}});
  ac.credentials = config.local;
  ac.seed = config.seed;
  auto agent = ice::IceAgent::Create(std::move(ac));
  if (!agent) return Error{agent.error()};
  dtls::DtlsConfig dc;
  dc.role = config.role;
  dc.certificate = config.certificate;
  dc.remote_fingerprint = config.remote_fingerprint;
  auto dtls = dtls::DtlsTransport::Create(std::move(dc));
  if (!dtls) return Error{dtls.error()};
  std::unique_ptr<SfuSession> s(new SfuSession(std::move(agent).value(), std::move(dtls).value()));
  s->srtp_backend_ = config.srtp_backend;
  s->agent_.start(now);
  s->agent_.set_remote_credentials(config.remote, now);
  // A server waits for the ClientHello; a client sends it once ICE selected a pair (pump).
  if (s->dtls_->role() == dtls::DtlsRole::kServer) s->dtls_->start(now);
  s->pump(now);
  return s;
}

SfuSession::SfuSession(ice::IceAgent agent, std::unique_ptr<dtls::DtlsTransport> dtls)
    : agent_(std::move(agent)), dtls_(std::move(dtls)), media_out_(*this) {}

SfuSession::~SfuSession() = default;

bool SfuSession::failed() const {
  return keying_failed_ || agent_.state() == ice::IceState::kFailed || dtls_->state() == dtls::DtlsState::kFailed;
}

std::optional<ice::TransportAddress> SfuSession::remote_address() const {
  if (auto pair = agent_.selected_pair()) return pair->second.address;
  return std::nullopt;
}

bool SfuSession::on_datagram(const ice::TransportAddress& source, std::span<const uint8_t> data, Timestamp now,
                             ice::SocketId socket) {
  ++counters_.datagrams_received;
  counters_.bytes_received += data.size();
  if (closed_) return false;
  const uint64_t answered = agent_.stats().requests_received;
  bool authenticated = false;
  if (agent_.on_datagram(socket, source, data, now) == ice::IceAgent::Inbound::kApplication) {
    last_received_ = now;
    authenticated = true;
    handle_application(data, now);
  } else if (agent_.selected_pair()) {
    last_received_ = now;  // consent checks keep an idle session (a subscriber) alive
  }
  if (agent_.stats().requests_received != answered) authenticated = true;
  pump(now);
  return authenticated;
}

void SfuSession::handle_application(std::span<const uint8_t> data, Timestamp now) {
  switch (transport::classify(data)) {
    case transport::PacketClass::kDtls:
      dtls_->on_datagram(data, now);
      return;
    case transport::PacketClass::kRtp:
    case transport::PacketClass::kRtcp: {
      if (!srtp_receive_ || media_sink_ == nullptr) {
        ++counters_.media_before_srtp;
        return;
      }
      receive_buffer_.assign(data.begin(), data.end());
      if (!srtp_receive_->unprotect_muxed(receive_buffer_).ok()) {
        ++counters_.srtp_unprotect_failures;
        return;
      }
      media_sink_->on_media(receive_buffer_, now);
      return;
    }
    default:
      ++counters_.unknown_datagrams;
      return;
  }
}

void SfuSession::send_media(std::vector<uint8_t> packet, Timestamp now) {
  if (!srtp_send_ || closed_) {
    ++counters_.media_out_before_srtp;
    return;
  }
  if (!srtp_send_->protect_muxed(packet).ok()) {
    ++counters_.srtp_protect_failures;
    return;
  }
  if (!agent_.send(std::move(packet), now).ok()) {  // the protected buffer is the datagram
    ++counters_.ice_send_failures;
    return;
  }
  announce_outgoing();
}

void SfuSession::ice_send(std::span<const uint8_t> data, Timestamp now) {
  if (!agent_.send(data, now).ok()) {
    ++counters_.ice_send_failures;
    return;
  }
  announce_outgoing();
}

void SfuSession::announce_outgoing() {
  if (outgoing_announced_) return;
  outgoing_announced_ = true;
  if (notify_outgoing_) notify_outgoing_();
}

std::optional<Timestamp> SfuSession::next_wakeup() const {
  if (closed_) return std::nullopt;
  std::optional<Timestamp> at = agent_.next_wakeup();
  if (auto d = dtls_->next_wakeup(); d && (!at || *d < *at)) at = d;
  return at;
}

void SfuSession::process(Timestamp now) {
  if (closed_) return;
  if (auto at = agent_.next_wakeup(); at && *at <= now) agent_.process(now);
  if (auto at = dtls_->next_wakeup(); at && *at <= now) dtls_->process(now);
  pump(now);
}

void SfuSession::pump(Timestamp now) {
  while (auto e = agent_.poll_event()) {
    if (e->kind == ice::IceEvent::Kind::kSelectedPair && !selected_) {
      selected_ = true;
      dtls_->start(now);  // a client sends its ClientHello now; idempotent for a server
    }
  }
  while (auto d = dtls_->pop_outgoing()) ice_send(*d, now);
  while (dtls_->pop_application()) {
  }  // no data channels on an SFU session: records have no reader
  if (dtls_->state() == dtls::DtlsState::kConnected && !srtp_send_ && !keying_failed_ && !closed_) on_dtls_connected(now);
  for (ice::IceOutgoing& o : agent_.take_outgoing()) {
    ++counters_.datagrams_sent;
    outgoing_.push_back(std::move(o));
  }
  if (!outgoing_.empty()) announce_outgoing();
}

void SfuSession::on_dtls_connected(Timestamp) {
  const auto& keys = dtls_->srtp_keys();
  if (!keys) {
    keying_failed_ = true;
    return;
  }
  auto configs = transport::srtp_configs_from_dtls(keys->profile, keys->local, keys->remote);
  if (!configs) {
    keying_failed_ = true;
    return;
  }
  configs->send.backend = srtp_backend_;
  configs->receive.backend = srtp_backend_;
  auto send = transport::SrtpSession::Create(configs->send);
  auto receive = transport::SrtpSession::Create(configs->receive);
  if (!send || !receive) {
    keying_failed_ = true;
    return;
  }
  srtp_send_.emplace(std::move(send).value());
  srtp_receive_.emplace(std::move(receive).value());
  if (auto p = transport::srtp_profile_from_dtls_id(keys->profile)) srtp_cipher_ = std::string(transport::to_string(*p));
}

void SfuSession::restart_ice(const ice::IceCredentials& local, const ice::IceCredentials& remote, Timestamp now) {
  if (closed_) return;
  agent_.restart(now, local);
  agent_.set_remote_credentials(remote, now);
  pump(now);  // the restart's candidate events; a selected pair stays
}

void SfuSession::close(Timestamp now) {
  if (closed_) return;
  dtls_->close(now);
  while (auto d = dtls_->pop_outgoing()) ice_send(*d, now);
  for (ice::IceOutgoing& o : agent_.take_outgoing()) {
    ++counters_.datagrams_sent;
    outgoing_.push_back(std::move(o));
  }
  agent_.close();
  srtp_send_.reset();
  closed_ = true;
  if (!outgoing_.empty()) announce_outgoing();
}

std::vector<ice::IceOutgoing> SfuSession::take_outgoing() {
  std::vector<ice::IceOutgoing> agent_out = agent_.take_outgoing();
  counters_.datagrams_sent += agent_out.size();
  outgoing_announced_ = false;
  if (outgoing_.empty()) {  // the common case (media): the agent's datagrams as they are
    for (const ice::IceOutgoing& o : agent_out) counters_.bytes_sent += o.data.size();
    return agent_out;
  }
  for (ice::IceOutgoing& o : agent_out) outgoing_.push_back(std::move(o));
  for (const ice::IceOutgoing& o : outgoing_) counters_.bytes_sent += o.data.size();
  return std::exchange(outgoing_, {});
}

}  // namespace tern::sfu
