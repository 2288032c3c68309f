package textproc

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaskPII(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// E-mail addresses.
		{"email", "Contact me at jane.doe+shop@example.co.uk please", "Contact me at [email] please"},
		{"email end of sentence", "my email is JOHN_smith@mail.example.com.", "my email is [email]."},
		{"email in chinese", "我的邮箱是wang.wei@163.com，谢谢", "我的邮箱是[email]，谢谢"},
		{"two emails", "a@b.io, c-d@e.org", "[email], [email]"},
		{"at without domain", "meet @ 5pm, ping @support", "meet @ 5pm, ping @support"},
		{"at without tld", "user@localhost is down", "user@localhost is down"},
		{"numeric tld", "x@1.2.3.4", "x@1.2.3.4"},

		// Phone numbers.
		{"us parens", "Call me at (555) 123-4567 tomorrow", "Call me at [phone] tomorrow"},
		{"us parens no space", "call (555)123-4567", "call [phone]"},
		{"us dashes", "my number is 555-123-4567.", "my number is [phone]."},
		{"us dots", "reach me on 555.123.4567", "reach me on [phone]"},
		{"us spaces", "phone 555 123 4567 after 6", "phone [phone] after 6"},
		{"us trunk prefix", "1-800-555-0199 is your hotline", "[phone] is your hotline"},
		{"us trunk prefix parens", "dial 1 (800) 555-0199 now", "dial [phone] now"},
		{"intl us", "+1 (555) 123-4567", "[phone]"},
		{"intl uk", "UK office: +44 20 7946 0958, ask for Sam", "UK office: [phone], ask for Sam"},
		{"intl cn spaced", "电话 +86 138 1234 5678", "电话 [phone]"},
		{"intl cn compact", "+8613812345678 call me", "[phone] call me"},
		{"intl dashes", "+49-30-901820", "[phone]"},
		{"intl with paren zero", "+44 (0)20 7946 0958", "[phone]"},
		{"cn mobile", "我的手机号是13812345678", "我的手机号是[phone]"},
		{"cn mobile spaced", "手机：138 1234 5678，请回电", "手机：[phone]，请回电"},
		{"cn mobile dashed", "call 139-1234-5678", "call [phone]"},
		{"cn mobile full width", "电话１３８１２３４５６７８谢谢", "电话[phone]谢谢"},
		{"two phones", "555-123-4567 or 555-987-6543", "[phone] or [phone]"},
		{"two phones adjacent", "13812345678 13912345678", "[phone] [phone]"},
		{"phone with label", "Tel: 555-123-4567", "Tel: [phone]"},
		{"hash after phone label", "phone #: 555-123-4567", "phone #: [phone]"},

		// Payment cards.
		{"visa compact", "card 4111111111111111 expires 12/27", "card [card] expires 12/27"},
		{"visa spaced", "my card is 4111 1111 1111 1111", "my card is [card]"},
		{"mastercard dashed", "5500-0000-0000-0004 was charged twice", "[card] was charged twice"},
		{"amex", "amex 3782 822463 10005 ok", "amex [card] ok"},
		{"unionpay 19", "卡号6212 3456 7890 1234 569", "卡号[card]"},
		{"unionpay 19 compact", "卡号6212345678901234569。", "卡号[card]。"},
		{"luhn invalid 19", "卡号6212 3456 7890 1234 561", "卡号6212 3456 7890 1234 561"},
		{"card after order word", "order 4111111111111111", "order [card]"},
		{"card after hash", "card #4111 1111 1111 1111", "card #[card]"},
		{"card in parens", "(4111111111111111)", "([card])"},
		{"card then phone", "4111111111111111 555-123-4567", "[card] [phone]"},
		{"card chinese", "我的信用卡号是4111111111111111，被扣了两次", "我的信用卡号是[card]，被扣了两次"},

		// Things that must stay.
		{"order hash", "order #123456 hasn't arrived", "order #123456 hasn't arrived"},
		{"order id", "ORD-2024-000123 is late", "ORD-2024-000123 is late"},
		{"order plain", "order 98765432 is missing", "order 98765432 is missing"},
		{"order long number", "where is order 113542617735902?", "where is order 113542617735902?"},
		{"order cue cn mobile shape", "order number: 13812345678", "order number: 13812345678"},
		{"order cue chinese", "订单号13812345678还没发货", "订单号13812345678还没发货"},
		{"order cue chinese is", "我的订单号是 13912345678", "我的订单号是 13912345678"},
		{"tracking cue", "tracking #555-123-4567", "tracking #555-123-4567"},
		{"hash number", "#555-123-4567", "#555-123-4567"},
		{"sku", "SKU-4411 and sku 4411-22", "SKU-4411 and sku 4411-22"},
		{"date iso", "delivered 2024-01-15 at 10:30", "delivered 2024-01-15 at 10:30"},
		{"date us", "on 01/15/2024", "on 01/15/2024"},
		{"date chinese", "2024年3月15日下单", "2024年3月15日下单"},
		{"price", "I paid $1,299.99 and €45.50", "I paid $1,299.99 and €45.50"},
		{"price dollars", "charged $4111111111111111", "charged $4111111111111111"},
		{"yuan", "退款￥13812345678元", "退款￥13812345678元"},
		{"percent", "20% off, 15% cashback", "20% off, 15% cashback"},
		{"quantity", "I ordered 3 items x 2", "I ordered 3 items x 2"},
		{"zip", "ZIP 94107, apt 12", "ZIP 94107, apt 12"},
		{"luhn invalid 16", "number 4111111111111112", "number 4111111111111112"},
		{"luhn valid but not issuer", "ref 9999999999999995", "ref 9999999999999995"},
		{"ten digit plain", "code 5551234567", "code 5551234567"},
		{"identifier glued", "INV4111111111111111", "INV4111111111111111"},
		{"identifier dash glued", "AB-4111111111111111", "AB-4111111111111111"},
		{"version", "app v2.3.1 on iOS 17.4", "app v2.3.1 on iOS 17.4"},
		{"short plus", "2+2=4 and +5", "2+2=4 and +5"},
		{"not cn mobile prefix", "12012345678", "12012345678"},
		{"phone glued to letters", "x555-123-4567", "x555-123-4567"},
		{"phone run on", "555-123-4567-89", "555-123-4567-89"},
		{"empty", "", ""},
		{"no digits", "Where is my order?", "Where is my order?"},
		{"already masked", "[email] [phone] [card]", "[email] [phone] [card]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskPII(tt.in)
			if got != tt.want {
				t.Errorf("MaskPII(%q)\n got  %q\n want %q", tt.in, got, tt.want)
			}
			if again := MaskPII(got); again != got {
				t.Errorf("MaskPII is not idempotent on %q: %q", got, again)
			}
		})
	}
}

func TestMaskPIILongText(t *testing.T) {
	var b strings.Builder
	for b.Len() < 20000 {
		b.WriteString("order #123456 arrived damaged, call 555-123-4567 or mail a.b@example.com; ")
	}
	got := MaskPII(b.String())
	if strings.Contains(got, "555-123-4567") || strings.Contains(got, "a.b@example.com") {
		t.Fatal("long text kept personal data")
	}
	if !strings.Contains(got, "order #123456") {
		t.Fatal("long text lost its order numbers")
	}
}

func TestMaskPIINoAllocWithoutCandidates(t *testing.T) {
	s := strings.Repeat("the parcel has not arrived yet ", 100)
	allocs := testing.AllocsPerRun(20, func() { _ = MaskPII(s) })
	if allocs != 0 {
		t.Errorf("MaskPII allocated %.0f times on text without digits or @", allocs)
	}
}

func FuzzMaskPII(f *testing.F) {
	seeds := []string{
		"", "call me at (555) 123-4567", "+44 20 7946 0958", "我的手机号是13812345678",
		"4111 1111 1111 1111", "4111111111111111", "order #123456", "ORD-2024-000123",
		"a@b.com.4111111111111111", "13812345678,4111111111111111", "555-123-4567/4111111111111111",
		"+1 555 123 4567+4111111111111111", "x@y@b.com", "订单号13812345678", "(4111111111111111)",
		"5500-0000-0000-0004-", "１３８１２３４５６７８", "1 (800) 555-0199", "\xff\xfe4111111111111111",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := MaskPII(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("MaskPII(%q) = %q is not valid UTF-8", s, got)
		}
		if again := MaskPII(got); again != got {
			t.Fatalf("not idempotent:\n in    %q\n once  %q\n twice %q", s, got, again)
		}
		if card, ok := standaloneCard(got); ok {
			t.Fatalf("MaskPII(%q) = %q kept card number %s", s, got, card)
		}
	})
}

func FuzzMaskPIIEmbeddedCard(f *testing.F) {
	f.Add("my card", "was charged twice", uint64(411111111111111), uint8(0))
	f.Add("ORD-2024", "-x", uint64(550000000000000), uint8(1))
	f.Add("+1 234", "12", uint64(378282246310005), uint8(2))
	f.Add("order #", "。", uint64(621234567890123), uint8(0))
	f.Fuzz(func(t *testing.T, prefix, suffix string, n uint64, layout uint8) {
		card := luhnComplete(n)
		switch layout % 3 {
		case 1:
			card = card[:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:]
		case 2:
			card = card[:4] + "-" + card[4:8] + "-" + card[8:12] + "-" + card[12:]
		}
		in := prefix + " " + card + " " + suffix
		got := MaskPII(in)
		if strings.Contains(got, card) {
			t.Fatalf("MaskPII(%q) = %q kept the card", in, got)
		}
	})
}

// luhnComplete turns n into a 16-digit card number with issuer digit 2-6 and a
// valid Luhn check digit.
func luhnComplete(n uint64) string {
	d := []byte(fmt.Sprintf("%015d", n%1e15))
	d[0] = '2' + d[0]%5
	for c := byte('0'); c <= '9'; c++ {
		if isCardNumber(append(d[:15:15], c)) {
			return string(append(d, c))
		}
	}
	return ""
}

// standaloneCard finds a 16-digit Luhn-valid card number (issuer digit 2-6) that
// stands alone in s: not part of a longer digit run and not next to a letter, a
// digit or a symbol that makes it part of an identifier or a price.
func standaloneCard(s string) (string, bool) {
	free := func(r rune) bool {
		return r == ' ' || r == '\n' || r == '\t' || strings.ContainsRune(",;!?()[]\"'", r) || IsCJK(r)
	}
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i == 16 && isCardNumber([]byte(s[i:j])) {
			before, _ := utf8.DecodeLastRuneInString(s[:i])
			after, _ := utf8.DecodeRuneInString(s[j:])
			if (i == 0 || free(before)) && (j == len(s) || free(after)) {
				return s[i:j], true
			}
		}
		i = j
	}
	return "", false
}

func BenchmarkMaskPII(b *testing.B) {
	short := "Hi, my order #123456 never arrived. Call me on (555) 123-4567 or email jane@example.com. Card 4111 1111 1111 1111 was charged."
	long := strings.Repeat("The blender I ordered on 2024-03-02 (order ORD-2024-000123) arrived broken and the box was wet; ", 210)
	zh := strings.Repeat("我的订单号是2024031500123，快递一直没到，请打电话13812345678联系我。", 120)
	for _, bc := range []struct{ name, text string }{
		{"short", short},
		{"long_20k_en", long},
		{"long_zh", zh},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				_ = MaskPII(bc.text)
			}
		})
	}
}
