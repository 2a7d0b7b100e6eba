// Setting the body of a cpprestsdk request or response from text without going through
// set_body(std::string).
//
// cpprestsdk's set_body(std::string) puts the text in a stream buffer of char and reads it as a
// stream of unsigned char: astreambuf.h's converting constructor streambuf(const
// streambuf<AlterCharType>&) casts basic_streambuf<char> to basic_streambuf<unsigned char>
// through void*. The layouts match, but every virtual call then goes through a type the object
// does not have, which is undefined behaviour, and UBSan's vptr check reports it ("does not
// point to an object of type 'basic_streambuf'", astreambuf.h:891). A buffer of unsigned char
// needs no conversion, so the sanitized builds stay free of suppressions for it.
#pragma once

#include <cpprest/containerstream.h>

#include <string>
#include <string_view>
#include <vector>

namespace billing::common {

// Message is web::http::http_request or web::http::http_response (they share no base class).
template <typename Message>
void setBody(Message& message, std::string_view body, const std::string& contentType) {
  message.set_body(concurrency::streams::bytestream::open_istream(
                       std::vector<unsigned char>(body.begin(), body.end())),
                   body.size(), contentType);
}

}  // namespace billing::common
