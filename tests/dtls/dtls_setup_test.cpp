// a=setup values and the DTLS roles they give (RFC 8842 5, RFC 4145 4).
#include <doctest/doctest.h>

#include <string>

#include "tern/dtls/dtls_setup.h"

using namespace tern::dtls;

TEST_CASE("dtls_setup: parse and print a=setup values") {
  CHECK(parse_dtls_setup("actpass") == DtlsSetup::kActpass);
  CHECK(parse_dtls_setup("ACTIVE") == DtlsSetup::kActive);
  CHECK(parse_dtls_setup("passive") == DtlsSetup::kPassive);
  CHECK(parse_dtls_setup("holdconn") == DtlsSetup::kHoldconn);
  CHECK_FALSE(parse_dtls_setup("activ").has_value());
  CHECK_FALSE(parse_dtls_setup("").has_value());
  CHECK(to_string(DtlsSetup::kActpass) == "actpass");
  CHECK(to_string(DtlsRole::kClient) == "client");
}

TEST_CASE("dtls_setup: the answer to each offer, and the roles both sides derive") {
  CHECK(answer_setup(DtlsSetup::kActpass).value() == DtlsSetup::kActive);
  CHECK(answer_setup(DtlsSetup::kActive).value() == DtlsSetup::kPassive);
  CHECK(answer_setup(DtlsSetup::kPassive).value() == DtlsSetup::kActive);
  CHECK_FALSE(answer_setup(DtlsSetup::kHoldconn).ok());
  // Offerer actpass, answerer active: the answerer is the client, the offerer the server.
  for (DtlsSetup offer : {DtlsSetup::kActpass, DtlsSetup::kActive, DtlsSetup::kPassive}) {
    const DtlsSetup answer = answer_setup(offer).value();
    const auto offerer = dtls_role(offer, answer);
    const auto answerer = dtls_role(answer, offer);
    REQUIRE(offerer.ok());
    REQUIRE(answerer.ok());
    CHECK(*offerer != *answerer);
    CHECK(*answerer == (answer == DtlsSetup::kActive ? DtlsRole::kClient : DtlsRole::kServer));
  }
  CHECK(dtls_role(DtlsSetup::kActpass, DtlsSetup::kPassive).value() == DtlsRole::kClient);
  CHECK(std::string(dtls_role(DtlsSetup::kActive, DtlsSetup::kActive).error()) == "both sides said setup:active");
  CHECK_FALSE(dtls_role(DtlsSetup::kPassive, DtlsSetup::kPassive).ok());
  CHECK_FALSE(dtls_role(DtlsSetup::kActpass, DtlsSetup::kActpass).ok());
  CHECK_FALSE(dtls_role(DtlsSetup::kHoldconn, DtlsSetup::kActive).ok());
}
