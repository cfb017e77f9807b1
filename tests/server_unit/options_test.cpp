// The server's loopback rule: which --listen addresses (and http:// JWKS hosts) count as this machine.
#include <gtest/gtest.h>

#include "options.hpp"

using pgrag::server::is_loopback;

TEST(Loopback, AddressesNotNamesThatLookLikeThem) {
    for (const char* yes : {"127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "localhost"})
        EXPECT_TRUE(is_loopback(yes)) << yes;
    for (const char* no : {"127.0.0.1.example.com", "127.evil.example.com", "127.", "0.0.0.0", "128.0.0.1",
                           "::", "10.0.0.1", "", "localhost.example.com", "[::1]"})
        EXPECT_FALSE(is_loopback(no)) << no;
}
