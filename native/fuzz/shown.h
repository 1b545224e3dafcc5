// A text with its control bytes visible, on one line, for the fuzz targets' reports.
#pragma once
#include <string>
#include <string_view>

namespace iptkit::fuzz {

inline std::string shown(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace iptkit::fuzz
