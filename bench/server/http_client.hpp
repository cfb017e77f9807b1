// A minimal HTTP/1.1 keep-alive client for the load benchmark: one connection, TCP_NODELAY, requests
// written in one send, responses with a Content-Length. It spends less CPU per request than a general
// client, so on a small machine the client's own cost disturbs the comparison with libpq less.
#pragma once

#include <string>

namespace bench {

class KeepAliveClient {
  public:
    KeepAliveClient(std::string host, int port) : host_(std::move(host)), port_(port) {}
    ~KeepAliveClient();
    KeepAliveClient(const KeepAliveClient&) = delete;
    KeepAliveClient& operator=(const KeepAliveClient&) = delete;

    // Sends the request (reconnecting when the server closed the connection) and reads the response;
    // returns the status (0 on a transport failure, with error set) and the body.
    int request(const std::string& method, const std::string& target, const std::string& body,
                std::string& response_body, std::string& error);

  private:
    bool connect_socket(std::string& error);
    void close_socket();
    std::string host_;
    int port_;
    int fd_ = -1;
    std::string buffer_;  // bytes received beyond the last response
};

}  // namespace bench
