// A plain main() for the fuzz target (libFuzzer's standalone-driver idea): replays the files
// named on the command line — a directory means every regular file under it, recursively,
// in name order — through LLVMFuzzerTestOneInput, one at a time, without libFuzzer. A broken
// property abort()s (exit by SIGABRT); otherwise it prints how many inputs ran and exits 0.
// scripts/fuzz.sh --replay builds it with g++ (and ASan/UBSan) into build/fuzz-replay/.
#ifdef IPTKIT_FUZZ

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 1; i < argc; i++) {
    fs::path p(argv[i]);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) found.push_back(e.path());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
      return 2;
    }
  }
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      fprintf(stderr, "replay: cannot read %s\n", f.c_str());
      return 2;
    }
    // A heap copy of exactly the input's size, so ASan sees a read past its end.
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto* data = new uint8_t[bytes.size() ? bytes.size() : 1];
    std::copy(bytes.begin(), bytes.end(), data);
    fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(data, bytes.size());
    delete[] data;
  }
  printf("replay: %zu inputs, no finding\n", files.size());
  return 0;
}

#endif  // IPTKIT_FUZZ
