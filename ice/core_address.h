// Conversions between the STUN wire view of an address (`ice::TransportAddress`, family + raw bytes)
// and core's `tern::TransportAddress` (what netsim routes by and the tools bind to).
//
// Two types for one idea is a known wart: the STUN view predates core's. They live in a header of their
// own so code that opens both namespaces (`using namespace tern; using namespace tern::ice;`) does not
// see two `TransportAddress` names unless it asks for the conversion.
#pragma once

#include "tern/core/ip_address.h"
#include "tern/ice/transport_address.h"

namespace tern::ice {

ice::TransportAddress from_core(const tern::TransportAddress& a);
tern::TransportAddress to_core(const ice::TransportAddress& a);

}  // namespace tern::ice
