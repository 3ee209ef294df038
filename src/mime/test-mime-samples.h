/*
 * test-mime-samples.h - sample messages shared by the MIME tests
 * (test-mime-parser.c checks their trees, test-imap-bodystructure.c the IMAP
 * strings made from them), so both speak of the same bytes.
 */
#ifndef MIME_TEST_MIME_SAMPLES_H
#define MIME_TEST_MIME_SAMPLES_H

#define MSG_PLAIN \
	"From: Ann <ann@example.org>\r\n" \
	"Subject: hi\r\n" \
	"\r\n" \
	"Hello\r\n" \
	"world\r\n"

#define MSG_MIXED \
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" \
	"\r\n" \
	"preamble\r\n" \
	"--b1\r\n" \
	"Content-Type: text/plain; charset=utf-8\r\n" \
	"\r\n" \
	"text\r\n" \
	"\r\n" \
	"--b1   \r\n" \
	"Content-Type: application/pdf; name=\"a.pdf\"\r\n" \
	"Content-Transfer-Encoding: base64\r\n" \
	"Content-Disposition: attachment; filename=\"a.pdf\"\r\n" \
	"\r\n" \
	"JVBERi0xLjQK\r\n" \
	"--b1--\r\n" \
	"epilogue\r\n"

#define MSG_NESTED \
	"Content-Type: multipart/mixed; boundary=outer\r\n" \
	"\r\n" \
	"--outer\r\n" \
	"Content-Type: multipart/alternative; boundary=inner\r\n" \
	"\r\n" \
	"--inner\r\n" \
	"\r\n" \
	"plain\r\n" \
	"--inner\r\n" \
	"Content-Type: text/html\r\n" \
	"\r\n" \
	"<b>html</b>\r\n" \
	"--outer\r\n" \
	"Content-Type: image/png\r\n" \
	"\r\n" \
	"PNG\r\n" \
	"--outer--"

#define MSG_RFC822 \
	"Content-Type: multipart/mixed; boundary=\"=_x\"\r\n" \
	"\r\n" \
	"--=_x\r\n" \
	"Content-Type: text/plain\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n" \
	"\r\n" \
	"a=3D_x\r\n" \
	"--=3D_x\r\n" \
	"--=_x\r\n" \
	"Content-Type: message/rfc822\r\n" \
	"Content-Description: fwd\r\n" \
	"\r\n" \
	"From: Bob <bob@example.net>\r\n" \
	"To: team: a@x.org, b@y.org;\r\n" \
	"Subject: inner\r\n" \
	"Message-ID: <1@x>\r\n" \
	"\r\n" \
	"inner body\r\n" \
	"--=_x--\r\n"

#define MSG_8BIT \
	"Subject: Gr\xc3\xbc\xc3\x9f""e\r\n" \
	"Content-Type: multipart/mixed;\r\n" \
	" boundary=\"q\"\r\n" \
	"\r\n" \
	"--q\r\n" \
	"Content-Type: text/plain; charset*=utf-8''%E2%82%AC%20rate\r\n" \
	"Content-Disposition: attachment;\r\n" \
	" filename*0*=iso-8859-1'de'%E4pfel;\r\n" \
	" filename*1=\".txt\"\r\n" \
	"Content-Language: de, en (comment)\r\n" \
	"\r\n" \
	"\xc3\xa4\r\n" \
	"--q\r\n" \
	"Content-Type: text/plain; name*0=\"long \"; name*1=\"name\"; NAME=x\r\n" \
	"\r\n" \
	"x\n" \
	"--q--"

#endif
