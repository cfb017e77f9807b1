// The load benchmark's HTTP/1.1 keep-alive client.
#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace bench {

KeepAliveClient::~KeepAliveClient() { close_socket(); }

void KeepAliveClient::close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
}

bool KeepAliveClient::connect_socket(std::string& error) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    if (fd_ < 0 || inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        error = std::string("connect: ") + std::strerror(errno);
        close_socket();
        return false;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as libpq, curl and browsers
    return true;
}

int KeepAliveClient::request(const std::string& method, const std::string& target, const std::string& body,
                             std::string& response_body, std::string& error) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host_ + "\r\n";
    if (!body.empty() || method == "POST")
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    // A kept-alive connection the server has closed meanwhile fails on first use: one new connection.
    for (int attempt = 0; attempt < 2; ++attempt) {
        bool reused = fd_ >= 0;
        if (fd_ < 0 && !connect_socket(error)) return 0;
        if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
            close_socket();
            if (reused) continue;
            error = "send failed";
            return 0;
        }
        // Headers, then Content-Length bytes of body.
        size_t header_end;
        char chunk[16384];
        while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) break;
            buffer_.append(chunk, static_cast<size_t>(n));
        }
        if (header_end == std::string::npos) {
            bool nothing = buffer_.empty();
            close_socket();
            if (reused && nothing) continue;
            error = "connection closed before a response";
            return 0;
        }
        std::string headers = buffer_.substr(0, header_end);
        int status = headers.size() > 12 ? std::atoi(headers.c_str() + 9) : 0;
        size_t length = 0;
        bool close_after = false;
        for (size_t start = headers.find("\r\n"); start != std::string::npos;) {
            size_t end = headers.find("\r\n", start + 2);
            std::string line =
                headers.substr(start + 2, end == std::string::npos ? std::string::npos : end - start - 2);
            if (strncasecmp(line.c_str(), "Content-Length:", 15) == 0) length = std::stoul(line.substr(15));
            if (strncasecmp(line.c_str(), "Connection:", 11) == 0 && line.find("close") != std::string::npos)
                close_after = true;
            start = end;
        }
        size_t need = header_end + 4 + length;
        while (buffer_.size() < need) {
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) {
                close_socket();
                error = "connection closed in a response body";
                return 0;
            }
            buffer_.append(chunk, static_cast<size_t>(n));
        }
        response_body = buffer_.substr(header_end + 4, length);
        buffer_.erase(0, need);
        if (close_after) close_socket();
        return status;
    }
    error = "the server closed the connection twice";
    return 0;
}

}  // namespace bench
