// TLS through the C++ wrapper, with real certificates (tests/common/tls.rs makes them and the
// servers): V2TIMSDKConfig's serverAddress "tls://...", useTLS, caCertificatesPEM and spkiPins.
// A client over TLS logs in and sees a change made over plaintext; an untrusted certificate, a
// wrong name and a pin mismatch reach OnConnectFailed and the login's OnError as
// ERR_SDK_NET_DISCONNECT with messages that say so; a right pin is accepted; settings the
// library refuses make InitSDK return false.
#include <string>

#include "V2TIMManager.h"
#include "harness.h"

namespace {

V2TIMManager* M() { return V2TIMManager::GetInstance(); }

V2TIMString Str(const std::string& s) { return V2TIMString(s.data(), s.size()); }

V2TIMSDKConfig Tls(const std::string& server, const std::string& ca_pem) {
  V2TIMSDKConfig config = test::ConfigFor(server);
  config.caCertificatesPEM = Str(ca_pem);
  return config;
}

test::OutcomePtr Login(const std::string& user) {
  std::string sig = test::SigOf(user);
  return test::Start("login " + user,
                     [&](V2TIMCallback* cb) { M()->Login(Str(user), Str(sig), cb); });
}

// Logs in with `config`, sees a change of bob (logged in over plaintext), logs out.
void SeesChanges(const V2TIMSDKConfig& config, const std::string& user) {
  test::RecListener listener;
  M()->AddSDKListener(&listener);
  CHECK(M()->InitSDK(test::AppId(), config));
  test::LoginOk(user, test::SigOf(user));
  test::SubscribeOk({"bob"});
  {
    test::Peer bob("bob", test::SigOf("bob"));
    std::string text = "over TLS to " + user;
    bob.SetStatus(text);
    CHECK_WAIT(listener.CustomOf("bob") == text, 10);
  }
  test::LogoutOk();
  M()->UnInitSDK();
  M()->RemoveSDKListener(&listener);
  std::lock_guard<std::mutex> lock(test::Lock());
  CHECK_EQ(listener.connect_failed, 0);
  CHECK(listener.connect_success >= 1);
}

// The login fails as a connection failure whose message holds `words`, in OnError and in
// OnConnectFailed alike.
void Refused(const V2TIMSDKConfig& config, const std::string& words) {
  test::RecListener listener;
  M()->AddSDKListener(&listener);
  CHECK(M()->InitSDK(test::AppId(), config));
  test::OutcomePtr login = Login("carol");
  test::ExpectError(login, ERR_SDK_NET_DISCONNECT);
  CHECK_WAIT(listener.connect_failed == 1, 10);
  {
    std::lock_guard<std::mutex> lock(test::Lock());
    if (login->desc.find(words) == std::string::npos)
      test::Fail(__FILE__, __LINE__, "'" + login->desc + "' does not say '" + words + "'");
    CHECK_EQ(listener.failed_code, static_cast<int>(ERR_SDK_NET_DISCONNECT));
    CHECK_EQ(listener.failed_desc, login->desc);
  }
  CHECK_EQ(M()->GetLoginStatus(), V2TIM_STATUS_LOGOUT);
  M()->UnInitSDK();
  M()->RemoveSDKListener(&listener);
}

void Accepted(const V2TIMSDKConfig& config, const std::string& user) {
  CHECK(M()->InitSDK(test::AppId(), config));
  test::LoginOk(user, test::SigOf(user));
  test::LogoutOk();
  M()->UnInitSDK();
}

}  // namespace

int main() {
  const std::string server = test::Env("IMS_TEST_TLS_SERVER");
  const std::string ca = test::Env("IMS_TEST_TLS_CA");

  // Settings the library refuses: InitSDK says false, and a good config works after them.
  V2TIMSDKConfig bad = Tls(server, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  CHECK(!M()->InitSDK(test::AppId(), bad));
  bad = Tls(server, ca);
  bad.spkiPins.PushBack("not a pin");
  CHECK(!M()->InitSDK(test::AppId(), bad));
  bad = Tls(server, ca);
  bad.spkiPins.PushBack(V2TIMString("sha256/\0AAAA", 11));
  CHECK(!M()->InitSDK(test::AppId(), bad));
  CHECK(!M()->InitSDK(test::AppId(), Tls("ftp://localhost:1", ca)));

  // By name with the scheme; by IP address with useTLS.
  SeesChanges(Tls(server, ca), "alice");
  V2TIMSDKConfig by_ip = Tls("127.0.0.1" + server.substr(server.rfind(':')), ca);
  by_ip.useTLS = true;
  SeesChanges(by_ip, "dave");

  Refused(Tls(server, test::Env("IMS_TEST_TLS_OTHER_CA")), "untrusted certificate");
  Refused(Tls(test::Env("IMS_TEST_TLS_WRONG_NAME_SERVER"), ca), "wrong name");

  const std::string pinned = test::Env("IMS_TEST_TLS_PINNED_SERVER");
  V2TIMSDKConfig right = Tls(pinned, ca);
  right.spkiPins.PushBack(Str(test::Env("IMS_TEST_TLS_WRONG_PIN")));
  right.spkiPins.PushBack(Str(test::Env("IMS_TEST_TLS_PIN")));
  Accepted(right, "erin");
  V2TIMSDKConfig wrong = Tls(pinned, ca);
  wrong.spkiPins.PushBack(Str(test::Env("IMS_TEST_TLS_WRONG_PIN")));
  Refused(wrong, "pin mismatch");
  return test::Finish("tls");
}
