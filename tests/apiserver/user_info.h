// Who is calling, as authentication decided (kube's user.Info).
#pragma once

#include <string>
#include <vector>

namespace billing::apiserver {

struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
  std::string uid;
};

}  // namespace billing::apiserver
