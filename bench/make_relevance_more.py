# ruff: noqa: E501  (the labelled items are data: one title and lead per line pair)
"""Build tests/data/relevance_more.jsonl: more labelled titles and leads of the kinds the
first round left (issue 15), written as the watched outlets print them, EN and VI, and
append their keys to the committed split.

    python bench/make_relevance_more.py

Kinds: short items whose only evidence of Vietnam is an office ("implied"), the US
implied by a company, a state or a university ("us-company", "us-state",
"us-university"), the US in a list of countries ("list-of-countries"), other countries'
pairs ("other-pair", "other-bilateral"), bilateral phrases, sports, entertainment,
markets, weather, diaspora culture, US home affairs, look-alikes ("Mỹ Tho"), the US in
passing, and the two states' relations in trade, defence, war legacy, education, aid,
health and climate. Each label is written by hand (the literal ``True``/``False`` below),
by the labelling rule in docs/USAGE.md, not computed.

The form of a Vietnamese item (composed "nfc", decomposed "nfd", or "no-diacritics" as a
site that strips them prints it) and its part (tuning or checking) are fixed by salted
hashes of its id. Keys already in ``tests/data/relevance_split/`` never move; new keys
are appended.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "relevance_more.jsonl"
SPLIT_DIR = ROOT / "tests" / "data" / "relevance_split"
SPLIT_SALT = "relevance-more-v1"
FORM_SALT = "relevance-more-form-v1"

ITEMS_1 = [
# -- short items whose only evidence of Vietnam is an implied office (positives) --------
("vi", "baochinhphu_vi", "Phó Thủ tướng tiếp Đại sứ Hoa Kỳ",
 "Chiều 12/6, tại trụ sở Chính phủ, Phó Thủ tướng đã tiếp Đại sứ Hoa Kỳ đến chào xã giao.", True, "implied"),
("vi", "vov_vi", "Thủ tướng tiếp Chủ tịch Phòng Thương mại Hoa Kỳ",
 "Thủ tướng đề nghị Phòng Thương mại Hoa Kỳ tiếp tục là cầu nối giữa cộng đồng doanh nghiệp hai nước.", True, "implied"),
("vi", "nhandan_vi", "Bộ trưởng Quốc phòng điện đàm với Bộ trưởng Chiến tranh Mỹ",
 "Hai bên trao đổi về hợp tác khắc phục hậu quả chiến tranh và an ninh hàng hải.", True, "implied"),
("vi", "qdnd_vi", "Thứ trưởng Quốc phòng tiếp Tùy viên Quốc phòng Hoa Kỳ",
 "Thượng tướng tiếp Tùy viên Quốc phòng Hoa Kỳ nhân dịp kết thúc nhiệm kỳ công tác.", True, "implied"),
("vi", "thanhnien_vi", "Chủ tịch Quốc hội hội kiến Chủ tịch Hạ viện Mỹ",
 "Chủ tịch Quốc hội mong muốn tăng cường giao lưu giữa các nghị sĩ trẻ hai nước.", True, "implied"),
("vi", "laodong_vi", "Bộ Công Thương làm việc với đoàn Bộ Thương mại Mỹ",
 "Hai bên rà soát việc thực thi các cam kết trong khuôn khổ đối thoại thương mại song phương.", True, "implied"),
("vi", "baochinhphu_vi", "Phó Thủ tướng thường trực tiếp Thống đốc bang Oregon",
 "Phó Thủ tướng đề nghị bang Oregon thúc đẩy hợp tác về giáo dục, bán dẫn và nông nghiệp với các địa phương.", True, "us-state"),
("vi", "vietnamnet_vi", "Bộ trưởng Ngoại giao gặp Thứ trưởng Ngoại giao Mỹ",
 "Bộ trưởng đánh giá cao các chuyến thăm cấp cao gần đây giữa hai nước.", True, "implied"),
("en", "vietnamplus_en", "Deputy PM receives US Chamber of Commerce delegation",
 "The Deputy Prime Minister asked American firms to expand investment in semiconductors and clean energy.", True, "implied"),
("en", "vgp_en", "PM hosts U.S. Ambassador",
 "The Prime Minister received the U.S. Ambassador who came to bid farewell at the end of his term.", True, "implied"),
("en", "vov_en", "Foreign Minister holds phone talks with US Secretary of State",
 "The two sides discussed preparations for upcoming high-level exchanges.", True, "implied"),
("en", "nhandan_en", "NA Chairman receives US congressional delegation",
 "The top legislator welcomed the lawmakers and called for more parliamentary exchanges.", True, "implied"),
("en", "qdnd_en", "Defence Minister receives commander of US Indo-Pacific Command",
 "The two sides reviewed cooperation in humanitarian assistance and search for missing soldiers.", True, "implied"),
("en", "tuoitre_en", "Deputy FM co-chairs political dialogue with US counterpart",
 "The two delegations discussed maritime security and trade frictions.", True, "implied"),
("en", "vietnamnet_en", "Party chief receives American business leaders",
 "The leader told the executives that the country welcomes high-quality investment from the United States.", True, "implied"),
("vi", "dantri_vi", "Thủ tướng điện đàm với Tổng thống Trump",
 "Hai nhà lãnh đạo trao đổi về đàm phán thỏa thuận thương mại đối ứng.", True, "implied"),
("vi", "tuoitre_vi", "Phó Chủ tịch nước gặp Phó Tổng thống Mỹ",
 "Hai bên bày tỏ vui mừng trước những bước phát triển của quan hệ Đối tác chiến lược toàn diện.", True, "implied"),
("vi", "vov_vi", "Đoàn đàm phán Chính phủ làm việc với USTR",
 "Đoàn đàm phán đã có phiên làm việc thứ ba với Văn phòng Đại diện Thương mại Hoa Kỳ.", True, "implied"),
# -- offices, but not the two states' relations (hard negatives) ------------------------
("vi", "baochinhphu_vi", "Phó Thủ tướng tiếp Đại sứ Nhật Bản",
 "Phó Thủ tướng đề nghị Nhật Bản tiếp tục hỗ trợ vốn ODA cho các dự án hạ tầng.", False, "implied-other"),
("vi", "vov_vi", "Thủ tướng kiểm tra tiến độ cao tốc Bắc - Nam",
 "Thủ tướng yêu cầu các nhà thầu tăng tốc để thông xe đúng hẹn.", False, "domestic"),
("en", "vgp_en", "Deputy PM urges faster disbursement of public investment",
 "Ministries and localities were asked to remove obstacles in site clearance.", False, "domestic"),
("en", "vov_en", "Foreign Minister receives new Indian Ambassador",
 "The minister hoped the two countries would boost trade and defence ties.", False, "implied-other"),
("vi", "nhandan_vi", "Chủ tịch Quốc hội tiếp Chủ tịch Thượng viện Campuchia",
 "Hai bên nhất trí tăng cường hợp tác giữa hai cơ quan lập pháp.", False, "implied-other"),
("en", "qdnd_en", "Defence Minister hosts Chinese counterpart for border talks",
 "The two ministers agreed to keep the land border peaceful and stable.", False, "implied-other"),
("vi", "qdnd_vi", "Bộ trưởng Quốc phòng tiếp Tư lệnh Lục quân Úc",
 "Đại tướng đề nghị hai bên đẩy mạnh hợp tác gìn giữ hòa bình Liên hợp quốc.", False, "implied-other"),
("vi", "laodong_vi", "Bộ trưởng Y tế chỉ đạo phòng chống sốt xuất huyết",
 "Bộ Y tế yêu cầu các địa phương giám sát chặt các ổ dịch.", False, "domestic"),
("en", "tuoitre_en", "National Assembly passes revised Land Law",
 "Lawmakers voted to adopt the law with 92 percent approval.", False, "domestic"),
("vi", "thanhnien_vi", "Thủ tướng dự hội nghị xúc tiến đầu tư Hàn Quốc",
 "Thủ tướng kêu gọi các tập đoàn Hàn Quốc mở rộng đầu tư vào lĩnh vực công nghệ cao.", False, "implied-other"),
("en", "vietnamplus_en", "PM meets Singaporean counterpart on sidelines of ASEAN Summit",
 "The two leaders discussed a green and digital economic partnership.", False, "implied-other"),
("vi", "vietnamnet_vi", "Phó Thủ tướng làm việc với tỉnh Gia Lai về dự án điện gió",
 "Phó Thủ tướng yêu cầu tháo gỡ vướng mắc cho các dự án năng lượng tái tạo.", False, "domestic"),
# -- the US implied by a company, a state or a university --------------------------------
("vi", "vnexpress_vi", "Thủ tướng tiếp Chủ tịch Tập đoàn Boeing",
 "Thủ tướng đề nghị Boeing mở rộng chuỗi cung ứng tại Việt Nam và hỗ trợ đào tạo phi công.", True, "us-company"),
("en", "vnexpress_en", "PM meets Apple executives, urges more suppliers in Vietnam",
 "The Prime Minister asked the US tech giant to help Vietnamese firms join its supply chain.", True, "us-company"),
("vi", "vietnamplus_vi", "Bộ trưởng Công Thương làm việc với Tập đoàn Intel",
 "Bộ trưởng đề nghị Intel mở rộng nhà máy lắp ráp và kiểm định chip tại TP Hồ Chí Minh.", True, "us-company"),
("en", "vietnamplus_en", "Deputy PM receives Google vice president",
 "He asked Google to support Vietnam's digital transformation and AI training programmes.", True, "us-company"),
("vi", "tuoitre_vi", "Chủ tịch nước tiếp lãnh đạo Tập đoàn Meta",
 "Chủ tịch nước đề nghị Meta hợp tác chặt chẽ với các cơ quan chức năng Việt Nam.", True, "us-company"),
("en", "baochinhphu_en", "Vietnam, US state of Washington boost ties in technology, education",
 "Washington Governor led a delegation of 30 companies to Hanoi and Ho Chi Minh City.", True, "us-state"),
("vi", "vov_vi", "Thống đốc bang Illinois dẫn đầu đoàn doanh nghiệp thăm Việt Nam",
 "Đoàn gồm đại diện hơn 20 doanh nghiệp Mỹ về nông nghiệp, logistics và năng lượng.", True, "us-state"),
("en", "nhandan_en", "Ho Chi Minh City, California discuss cooperation in innovation",
 "City leaders met a delegation from the California state government on start-up ecosystems.", True, "us-state"),
("vi", "giaoduc_vi", "Đại học Arizona State hợp tác với Bộ Giáo dục đào tạo kỹ sư bán dẫn",
 "Chương trình do Bộ Ngoại giao Mỹ tài trợ nhằm đào tạo giảng viên tại các trường đại học Việt Nam.", True, "us-university"),
("en", "vietnamnet_en", "Harvard Kennedy School to train Vietnamese officials under new agreement",
 "The Ministry of Home Affairs signed the deal with the US university for leadership courses.", True, "us-university"),
("vi", "tuoitre_vi", "Đại học Fulbright Việt Nam nhận thêm tài trợ từ Chính phủ Mỹ",
 "Khoản tài trợ mới của Chính phủ Mỹ sẽ dành cho học bổng và nghiên cứu về biến đổi khí hậu.", True, "us-university"),
# same kinds of names without Vietnam-US relations (negatives)
("en", "vnexpress_en", "Boeing shares fall after another 737 Max incident",
 "The US planemaker's stock dropped 4 percent on Wall Street after a door panel blew out.", False, "us-company"),
("vi", "vnexpress_vi", "Apple ra mắt iPhone mới, giá cao nhất 50 triệu đồng",
 "Mẫu iPhone mới có camera cải tiến và chip mạnh hơn, bán tại Việt Nam từ tháng sau.", False, "us-company"),
("vi", "dantri_vi", "Google cập nhật thuật toán, nhiều website tụt hạng",
 "Bản cập nhật mới nhất của Google ảnh hưởng tới các trang tin tức và thương mại điện tử.", False, "us-company"),
("en", "tuoitre_en", "Intel to cut 15,000 jobs worldwide",
 "The American chipmaker said it would reduce costs by 10 billion USD next year.", False, "us-company"),
("vi", "thanhnien_vi", "Bang California kiện chính quyền liên bang về thuế quan",
 "Thống đốc California cho rằng thuế quan gây thiệt hại cho nông dân và doanh nghiệp của bang.", False, "us-state"),
("en", "vnexpress_en", "Texas floods kill dozens as rivers burst banks",
 "Rescue teams searched for missing campers after flash floods hit central Texas.", False, "us-state"),
("vi", "vnexpress_vi", "Đại học Harvard bị cắt 2 tỷ USD tài trợ liên bang",
 "Chính quyền Tổng thống Trump đóng băng các khoản tài trợ nghiên cứu cho Harvard.", False, "us-university"),
("en", "vietnamnet_en", "Vietnamese student wins scholarship to MIT",
 "The Hanoi high school student was admitted with a full scholarship to study computer science.", False, "us-university"),
("vi", "dantri_vi", "Nam sinh Hà Nội đỗ 5 trường đại học Mỹ",
 "Em nhận học bổng toàn phần của Đại học Stanford và Đại học Duke.", False, "us-university"),
("en", "tuoitre_en", "Starbucks opens 100th store in Vietnam",
 "The US coffee chain marked ten years in the country with a new outlet in Da Nang.", False, "us-company"),
("vi", "vietnamnet_vi", "Tesla giảm giá xe điện tại thị trường Mỹ",
 "Hãng xe điện của tỷ phú Elon Musk giảm giá để đối phó doanh số sụt giảm.", False, "us-company"),
]

ITEMS_2 = [
# -- the US in a list of countries (negatives) and the US as the subject (positives) ------
("vi", "vietnamplus_vi", "Xuất khẩu thủy sản 10 tháng đạt 9 tỷ USD",
 "Trung Quốc, Mỹ, Nhật Bản và Hàn Quốc là các thị trường tiêu thụ lớn nhất của thủy sản Việt Nam.", False, "list-of-countries"),
("en", "vietnamplus_en", "Vietnam's coffee exports hit record on strong demand",
 "Germany, Italy, Spain, Japan and the US were the biggest buyers of Vietnamese coffee.", False, "list-of-countries"),
("vi", "vnexpress_vi", "Du lịch Việt Nam đón 15 triệu lượt khách quốc tế",
 "Hàn Quốc, Trung Quốc, Đài Loan, Mỹ và Nhật Bản dẫn đầu về lượng khách đến Việt Nam.", False, "list-of-countries"),
("en", "vnexpress_en", "Foreign arrivals to Vietnam up 20% in first half",
 "South Korea, China, Taiwan, the US and Japan were the top source markets.", False, "list-of-countries"),
("vi", "laodong_vi", "Kiều hối về TP Hồ Chí Minh đạt 9 tỷ USD",
 "Kiều hối chủ yếu đến từ Mỹ, Australia, Canada, Nhật Bản và châu Âu.", False, "list-of-countries"),
("en", "tuoitre_en", "Ho Chi Minh City remittances top 9 billion USD",
 "Most of the money came from the US, Australia, Canada, Japan and Europe.", False, "list-of-countries"),
("vi", "dantri_vi", "Hạt điều Việt Nam xuất khẩu sang hơn 90 thị trường",
 "Các thị trường chính gồm Mỹ, Trung Quốc, Hà Lan, Đức và Úc.", False, "list-of-countries"),
("en", "vietnamnet_en", "Vietnamese students abroad top 190,000",
 "Japan, Australia, the US, Canada and the UK host the largest numbers of Vietnamese students.", False, "list-of-countries"),
("vi", "thanhnien_vi", "Giá lúa gạo tăng nhờ nhu cầu từ Philippines, Indonesia",
 "Ngoài Philippines, Indonesia, gạo Việt Nam còn được xuất sang Ghana, Bờ Biển Ngà và Mỹ.", False, "list-of-countries"),
("en", "vov_en", "Vietnam attends G20 meeting as guest",
 "Leaders of the US, China, India, Brazil and the host country discussed climate finance.", False, "list-of-countries"),
("vi", "nhandan_vi", "Việt Nam dự Hội nghị Bộ trưởng Ngoại giao ASEAN mở rộng",
 "Hội nghị có sự tham gia của Trung Quốc, Nhật Bản, Hàn Quốc, Mỹ, Nga và Ấn Độ.", False, "list-of-countries"),
("en", "baochinhphu_en", "Vietnam among top ten FDI destinations in Asia",
 "Investors from Singapore, South Korea, Japan, China and the US poured 20 billion USD into the country.", False, "list-of-countries"),
("vi", "vietnamplus_vi", "Mỹ tiếp tục là thị trường xuất khẩu lớn nhất của Việt Nam",
 "Kim ngạch xuất khẩu sang Mỹ 11 tháng đạt 125 tỷ USD, tăng 26% so với cùng kỳ.", True, "trade"),
("en", "vietnamplus_en", "US remains Vietnam's largest export market",
 "Vietnam shipped goods worth 125 billion USD to the US in eleven months, up 26 percent.", True, "trade"),
("vi", "vnexpress_vi", "Xuất khẩu tôm sang Mỹ tăng mạnh trước thời hạn áp thuế",
 "Doanh nghiệp đẩy nhanh giao hàng sang Mỹ để tránh mức thuế đối ứng mới.", True, "trade"),
("en", "vnexpress_en", "Shrimp exports to US surge ahead of anti-dumping ruling",
 "The US Department of Commerce is expected to announce final duties on Vietnamese shrimp next month.", True, "trade"),
# -- other country pairs, Vietnam or the US in passing (negatives) -----------------------
("en", "vnexpress_en", "Trump, Xi agree to extend tariff truce",
 "The US and Chinese leaders spoke by phone for two hours, Beijing said.", False, "other-pair"),
("vi", "vnexpress_vi", "Ông Trump và ông Tập điện đàm về thuế quan",
 "Hai nhà lãnh đạo Mỹ và Trung Quốc nhất trí gia hạn thỏa thuận đình chiến thương mại.", False, "other-pair"),
("en", "tuoitre_en", "US, Japan hold joint naval drills near Okinawa",
 "Warships from the two allies practised anti-submarine warfare for five days.", False, "other-pair"),
("vi", "thanhnien_vi", "Mỹ và Hàn Quốc tập trận chung quy mô lớn",
 "Triều Tiên cảnh báo sẽ đáp trả cuộc tập trận của Mỹ và Hàn Quốc.", False, "other-pair"),
("en", "vietnamnet_en", "India, US sign 10-year defence framework",
 "The deal covers joint production of engines and sharing of intelligence.", False, "other-pair"),
("vi", "dantri_vi", "Ấn Độ và Mỹ ký khung hợp tác quốc phòng 10 năm",
 "Thỏa thuận bao gồm sản xuất chung động cơ và chia sẻ tình báo.", False, "other-pair"),
("en", "vov_en", "US brokers ceasefire between Thailand and Cambodia",
 "The two Southeast Asian neighbours agreed to halt border clashes after talks in Kuala Lumpur.", False, "other-pair"),
("vi", "vov_vi", "Mỹ làm trung gian cho Thái Lan và Campuchia ngừng bắn",
 "Hai nước láng giềng đồng ý chấm dứt xung đột biên giới sau cuộc đàm phán tại Kuala Lumpur.", False, "other-pair"),
("en", "nhandan_en", "Russia, Ukraine hold talks in Istanbul with US envoy present",
 "The delegations discussed a prisoner exchange and a partial ceasefire.", False, "other-pair"),
("vi", "nhandan_vi", "Nga và Ukraine đàm phán tại Istanbul với sự có mặt của đặc phái viên Mỹ",
 "Hai bên thảo luận về trao đổi tù binh và ngừng bắn một phần.", False, "other-pair"),
("en", "tuoitre_en", "Philippines, US expand access to military bases",
 "Manila granted US forces access to four more sites facing the South China Sea.", False, "other-pair"),
("vi", "tuoitre_vi", "Mỹ - Nhật thảo luận thuế ô tô",
 "Bộ trưởng Thương mại Mỹ gặp người đồng cấp Nhật Bản tại Washington.", False, "other-pair"),
("en", "vietnamplus_en", "EU, US reach trade deal on steel quotas",
 "Brussels and Washington agreed to lift tariffs on a set volume of steel and aluminium.", False, "other-pair"),
("vi", "vietnamplus_vi", "Canada và Mỹ nối lại đàm phán thương mại",
 "Thủ tướng Canada cho biết Ottawa sẵn sàng nhượng bộ về sản phẩm sữa.", False, "other-pair"),
("en", "vietnamnet_en", "Australia, US deepen critical minerals partnership",
 "Canberra and Washington signed a deal worth 8.5 billion USD on rare earths.", False, "other-pair"),
("vi", "laodong_vi", "Mỹ và Ukraine ký thỏa thuận khoáng sản",
 "Quỹ đầu tư chung sẽ nhận một nửa doanh thu từ các dự án khoáng sản mới của Ukraine.", False, "other-pair"),
("en", "vov_en", "Israel, US discuss Gaza aid corridor",
 "Officials from the two countries met in Jerusalem to plan aid deliveries.", False, "other-pair"),
("vi", "vov_vi", "Ngoại trưởng Mỹ thăm Trung Đông, bàn về Gaza",
 "Ông Rubio gặp lãnh đạo Israel, Ai Cập và Qatar để thúc đẩy thỏa thuận ngừng bắn.", False, "other-pair"),
("en", "vnexpress_en", "Mexico, US agree on border security plan",
 "Mexico will deploy 10,000 troops to the border in exchange for a tariff pause.", False, "other-pair"),
("vi", "nhandan_vi", "Brazil phản đối thuế quan 50% của Mỹ",
 "Tổng thống Brazil tuyên bố sẽ áp dụng các biện pháp đáp trả thuế quan của Washington.", False, "other-pair"),
# -- a phrase naming both countries (positives), in both languages -----------------------
("vi", "vietnamplus_vi", "Thúc đẩy hợp tác giáo dục Việt Nam - Hoa Kỳ",
 "Hội thảo quy tụ hơn 50 trường đại học của hai nước.", True, "bilateral"),
("vi", "vov_vi", "Kỷ niệm 30 năm quan hệ Việt - Mỹ tại TP Hồ Chí Minh",
 "Buổi lễ có sự tham dự của Tổng Lãnh sự Hoa Kỳ và lãnh đạo Thành phố.", True, "bilateral"),
("en", "vietnamnews_en", "Vietnam-US business forum draws 500 firms",
 "The forum focused on supply chains, digital economy and energy transition.", True, "bilateral"),
("en", "vov_en", "Viet Nam, US hold ninth dialogue on human rights",
 "The two delegations exchanged views on issues of mutual concern in a frank manner.", True, "bilateral"),
("vi", "thanhnien_vi", "Việt Nam và Hoa Kỳ ký biên bản ghi nhớ về hợp tác y tế",
 "Hai bên sẽ phối hợp phòng chống bệnh lao và nâng cao năng lực xét nghiệm.", True, "bilateral"),
("en", "tuoitre_en", "US, Vietnam sign MoU on critical minerals",
 "The memorandum aims to help Vietnam develop its rare earth industry responsibly.", True, "bilateral"),
("vi", "qdnd_vi", "Đối thoại chính sách quốc phòng Việt Nam - Hoa Kỳ lần thứ 14",
 "Hai bên thảo luận về hợp tác trong lĩnh vực gìn giữ hòa bình và khắc phục hậu quả chiến tranh.", True, "bilateral"),
("en", "qdnd_en", "Vietnam, US hold defence policy dialogue",
 "The dialogue reviewed cooperation in peacekeeping, war legacy and military medicine.", True, "bilateral"),
("vi", "dantri_vi", "Hoa Kỳ - Việt Nam hướng tới 200 tỷ USD thương mại",
 "Các doanh nghiệp kỳ vọng thương mại song phương sẽ tiếp tục tăng mạnh.", True, "bilateral"),
("en", "vietnamnet_en", "Hanoi and Washington mark 30 years of diplomatic ties",
 "A photo exhibition opened in the capital to celebrate the anniversary.", True, "bilateral"),
# -- sports (negatives) -------------------------------------------------------------------
("vi", "thanhnien_vi", "Tuyển nữ Việt Nam thua Mỹ 0-3 ở World Cup",
 "Đội tuyển nữ Việt Nam để thua đương kim vô địch Mỹ trong trận mở màn.", False, "sports"),
("en", "vnexpress_en", "Vietnam's women lose 0-3 to USA at World Cup",
 "The debutants held the defending champions for half an hour before conceding.", False, "sports"),
("vi", "dantri_vi", "Tay vợt Việt Nam vào tứ kết giải quần vợt tại Mỹ",
 "Lý Hoàng Nam thắng đối thủ người Mỹ sau ba set.", False, "sports"),
("en", "tuoitre_en", "Vietnamese chess player beats American grandmaster",
 "Le Quang Liem won with black in the fourth round of the tournament in St. Louis.", False, "sports"),
("vi", "vnexpress_vi", "Kỳ thủ Lê Quang Liêm vô địch giải cờ vua tại Mỹ",
 "Kỳ thủ số một Việt Nam giành chức vô địch sau 9 ván đấu tại St. Louis.", False, "sports"),
("en", "vietnamnet_en", "Vietnam boxing team trains in US ahead of SEA Games",
 "Eight boxers will spend six weeks at a training camp in Las Vegas.", False, "sports"),
("vi", "laodong_vi", "U23 Việt Nam giao hữu với U23 Mỹ",
 "Huấn luyện viên cho biết trận đấu là cơ hội để thử nghiệm đội hình.", False, "sports"),
("en", "vov_en", "Vietnamese golfer earns spot at US Open",
 "The 19-year-old qualified after finishing second at the Asian qualifier.", False, "sports"),
("vi", "tuoitre_vi", "Cơ thủ Việt Nam đoạt huy chương vàng billiards tại Mỹ",
 "Trần Quyết Chiến thắng cơ thủ Mỹ trong trận chung kết carom 3 băng.", False, "sports"),
("en", "thanhnien_en", "Vietnam women's volleyball stun USA in friendly",
 "Coach said the win was a boost ahead of the world championship.", False, "sports"),
("vi", "vnexpress_vi", "Võ sĩ gốc Việt giành đai vô địch UFC tại Mỹ",
 "Võ sĩ hạ knock-out đối thủ ở hiệp thứ hai tại Las Vegas.", False, "sports"),
# -- entertainment (negatives) ------------------------------------------------------------
("vi", "dantri_vi", "Phim Việt được chiếu rộng rãi tại rạp Mỹ",
 "Bộ phim của đạo diễn Việt được phát hành tại hơn 200 rạp chiếu ở Bắc Mỹ và Mỹ.", False, "entertainment"),
("en", "vnexpress_en", "Vietnamese horror film tops US box office for Asian titles",
 "The movie earned 2 million USD in its opening weekend in American cinemas.", False, "entertainment"),
("vi", "thanhnien_vi", "Ca sĩ Mỹ Tâm tổ chức liveshow tại Mỹ",
 "Nữ ca sĩ sẽ biểu diễn tại Los Angeles và Houston trong tháng 8.", False, "entertainment"),
("en", "tuoitre_en", "American rapper to perform in Ho Chi Minh City",
 "The concert is expected to draw 40,000 fans to the stadium.", False, "entertainment"),
("vi", "vietnamnet_vi", "Hoa hậu Việt Nam lọt top 10 Hoa hậu Hoàn vũ tại Mỹ",
 "Cuộc thi năm nay được tổ chức tại Las Vegas với 90 thí sinh.", False, "entertainment"),
("en", "vietnamnet_en", "Hollywood studio to shoot blockbuster in Quang Binh caves",
 "The film crew will spend two months in Phong Nha-Ke Bang National Park.", False, "entertainment"),
("vi", "vnexpress_vi", "Nghệ sĩ piano Việt biểu diễn tại Carnegie Hall, Mỹ",
 "Khán giả đứng dậy vỗ tay sau buổi hòa nhạc của nghệ sĩ trẻ.", False, "entertainment"),
("en", "vov_en", "Vietnamese singer named on Billboard's list of rising Asian artists",
 "The singer's latest music video has 50 million views on YouTube.", False, "entertainment"),
("vi", "dantri_vi", "Diễn viên Việt đóng vai chính trong series Netflix của Mỹ",
 "Bộ phim kể về cuộc sống của người nhập cư ở New York.", False, "entertainment"),
]

ITEMS_3 = [
# -- markets (negatives) ------------------------------------------------------------------
("vi", "vnexpress_vi", "Chứng khoán Mỹ lập đỉnh, VN-Index tăng theo",
 "Dow Jones và S&P 500 cùng tăng hơn 1%, khối ngoại mua ròng trên sàn HOSE.", False, "markets"),
("en", "vnexpress_en", "VN-Index tracks Wall Street gains",
 "Vietnam's benchmark index rose 12 points as US stocks hit record highs overnight.", False, "markets"),
("vi", "laodong_vi", "Giá vàng trong nước tăng theo vàng thế giới sau quyết định của Fed",
 "Fed giảm lãi suất 0,25 điểm phần trăm, giá vàng miếng SJC lên 90 triệu đồng.", False, "markets"),
("en", "tuoitre_en", "Gold prices in Vietnam jump after US Fed rate cut",
 "Domestic gold bars rose 1.5 million VND per tael on Thursday morning.", False, "markets"),
("vi", "dantri_vi", "Tỷ giá USD hôm nay tăng mạnh",
 "Đồng USD tăng giá sau khi số liệu việc làm của Mỹ tốt hơn dự báo.", False, "markets"),
("en", "vietnamnet_en", "Dong weakens as US dollar strengthens",
 "The State Bank raised the central exchange rate by 15 VND to 24,300 VND per dollar.", False, "markets"),
("vi", "thanhnien_vi", "Giá cà phê hôm nay giảm theo sàn New York",
 "Giá arabica trên sàn New York giảm 2%, cà phê Tây Nguyên xuống 120.000 đồng/kg.", False, "markets"),
("en", "vietnamplus_en", "Petrol prices in Vietnam cut as crude slides",
 "Brent and WTI fell after US crude inventories rose more than expected.", False, "markets"),
("vi", "vietnamnet_vi", "Giá xăng giảm lần thứ ba liên tiếp",
 "Giá dầu thô WTI của Mỹ giảm do tồn kho tăng, giá xăng trong nước giảm 500 đồng/lít.", False, "markets"),
# -- weather (negatives) ------------------------------------------------------------------
("vi", "vnexpress_vi", "Bão Milton đổ bộ Florida, Mỹ sơ tán hàng triệu người",
 "Cơn bão cấp 5 gây gió giật mạnh và mưa lớn ở bờ biển phía tây Florida.", False, "weather"),
("en", "tuoitre_en", "Heatwave grips US as Vietnam braces for tropical storm",
 "Temperatures topped 45 C in Arizona while forecasters tracked a storm nearing central Vietnam.", False, "weather"),
("vi", "laodong_vi", "Nắng nóng kỷ lục ở Mỹ, miền Bắc Việt Nam cũng nóng 40 độ C",
 "Trung tâm Dự báo khí tượng thủy văn quốc gia cho biết nắng nóng sẽ kéo dài đến cuối tuần.", False, "weather"),
("en", "vov_en", "Wildfires rage in California, thousands evacuated",
 "Firefighters battled blazes fanned by strong winds near Los Angeles.", False, "weather"),
("vi", "dantri_vi", "Cháy rừng ở California, hàng nghìn người Việt phải sơ tán",
 "Nhiều gia đình người Việt tại Quận Cam phải rời nhà khi lửa lan nhanh.", False, "weather"),
# -- diaspora culture (negatives) -----------------------------------------------------------
("vi", "vietnamnet_vi", "Người Việt ở Mỹ đón Tết Nguyên đán tại Little Saigon",
 "Hội chợ Tết thu hút hàng chục nghìn người tới khu Bolsa, Quận Cam.", False, "diaspora"),
("en", "vnexpress_en", "Vietnamese Americans celebrate Tet in Little Saigon",
 "The parade on Bolsa Avenue drew tens of thousands of spectators.", False, "diaspora"),
("vi", "thanhnien_vi", "Nhà hàng phở của người Việt ở Texas lọt top ngon nhất nước Mỹ",
 "Quán phở nhỏ ở Houston được tạp chí ẩm thực vinh danh.", False, "diaspora"),
("en", "tuoitre_en", "Vietnamese-American chef wins James Beard award",
 "The Houston chef was honoured for dishes blending Vietnamese and Cajun flavours.", False, "diaspora"),
("vi", "vov_vi", "Lớp học tiếng Việt cho trẻ em gốc Việt tại Virginia",
 "Hơn 200 em nhỏ theo học mỗi cuối tuần tại ngôi chùa ở Falls Church.", False, "diaspora"),
("en", "vietnamnet_en", "Vietnamese American author wins Pulitzer",
 "The novel tells the story of a refugee family in California.", False, "diaspora"),
("vi", "dantri_vi", "Cô gái gốc Việt đăng quang hoa hậu bang California",
 "Người đẹp 22 tuổi có bố mẹ là người Việt sang Mỹ từ thập niên 1980.", False, "diaspora"),
# -- US home affairs (negatives) -----------------------------------------------------------
("vi", "vnexpress_vi", "Chính phủ Mỹ đóng cửa lần đầu sau 6 năm",
 "Quốc hội Mỹ không thông qua dự luật chi tiêu tạm thời trước hạn chót.", False, "us-domestic"),
("en", "vnexpress_en", "US government shuts down as Congress fails to pass budget",
 "Hundreds of thousands of federal workers were sent home without pay.", False, "us-domestic"),
("vi", "thanhnien_vi", "Tòa án Tối cao Mỹ ra phán quyết về thuế quan của ông Trump",
 "Các thẩm phán xem xét liệu tổng thống có quyền áp thuế theo luật khẩn cấp hay không.", False, "us-domestic"),
("en", "tuoitre_en", "Trump signs executive order on federal workforce",
 "The order requires agencies to cut staff by 10 percent.", False, "us-domestic"),
("vi", "dantri_vi", "Xả súng ở trường học bang Georgia, 4 người chết",
 "Nghi phạm 14 tuổi đã bị bắt giữ, cảnh sát cho biết.", False, "us-domestic"),
("en", "vov_en", "New York elects new mayor",
 "The Democratic candidate won with 51 percent of the vote.", False, "us-domestic"),
("vi", "laodong_vi", "Ông Trump bổ nhiệm Bộ trưởng Lao động mới",
 "Thượng viện Mỹ sẽ bỏ phiếu phê chuẩn vào tuần tới.", False, "us-domestic"),
("en", "vietnamnet_en", "US unemployment rises to 4.3 percent",
 "Employers added fewer jobs than expected in August, the Labor Department said.", False, "us-domestic"),
("vi", "vietnamplus_vi", "Thượng viện Mỹ thông qua dự luật ngân sách",
 "Dự luật được thông qua với tỷ lệ 51-49 sau phiên tranh luận kéo dài.", False, "us-domestic"),
("en", "nhandan_en", "US Senate confirms new Secretary of Defense",
 "The vote was 51 to 50 with the Vice President breaking the tie.", False, "us-domestic"),
# -- look-alikes (negatives) -----------------------------------------------------------------
("vi", "tuoitre_vi", "Mỹ Tho chỉnh trang bờ sông Tiền",
 "Thành phố Mỹ Tho đầu tư 200 tỷ đồng làm công viên ven sông.", False, "lookalike"),
("vi", "vnexpress_vi", "Sân Mỹ Đình được cải tạo trước vòng loại World Cup",
 "Mặt cỏ sân vận động quốc gia Mỹ Đình được thay mới hoàn toàn.", False, "lookalike"),
("vi", "dantri_vi", "Thánh địa Mỹ Sơn đón 400.000 lượt khách",
 "Khu di tích Mỹ Sơn ở Quảng Nam là di sản văn hóa thế giới.", False, "lookalike"),
("en", "vietnamnet_en", "My Son sanctuary restores ancient Cham tower with Indian help",
 "Indian experts are working with Quang Nam province on the restoration.", False, "lookalike"),
("en", "vnexpress_en", "My Dinh bus station to be relocated",
 "Hanoi plans to move the intercity bus station out of the inner city.", False, "lookalike"),
("vi", "thanhnien_vi", "Triển lãm mỹ thuật đương đại tại Hà Nội",
 "Hơn 100 tác phẩm của các họa sĩ trẻ được trưng bày.", False, "lookalike"),
("vi", "laodong_vi", "Cầu Mỹ Thuận 2 thông xe",
 "Cây cầu nối Tiền Giang và Vĩnh Long giúp giảm ùn tắc trên quốc lộ 1.", False, "lookalike"),
("vi", "vietnamnet_vi", "Xử phạt cơ sở sản xuất mỹ phẩm giả",
 "Cơ sở tại Bắc Ninh bị phạt 200 triệu đồng vì sản xuất mỹ phẩm không rõ nguồn gốc.", False, "lookalike"),
("vi", "vov_vi", "Khu tưởng niệm Sơn Mỹ đón đoàn khách quốc tế",
 "Đoàn khách từ nhiều nước đến tưởng niệm các nạn nhân vụ thảm sát Mỹ Lai năm 1968.", False, "lookalike"),
("en", "tuoitre_en", "My Khe beach named among Asia's best",
 "Da Nang's beach drew record numbers of visitors this summer.", False, "lookalike"),
("vi", "tuoitre_vi", "Ca sĩ Mỹ Linh ra mắt album mới",
 "Album gồm 10 ca khúc phổ thơ của các nhà thơ Hà Nội.", False, "lookalike"),
("vi", "dantri_vi", "Phú Mỹ mở rộng khu công nghiệp",
 "Thị xã Phú Mỹ thu hút thêm 1 tỷ USD vốn đầu tư vào cảng biển.", False, "lookalike"),
# -- the US in passing in Vietnamese domestic news (negatives) -------------------------------
("vi", "vnexpress_vi", "Hà Nội thí điểm xe buýt điện trên 10 tuyến",
 "Mô hình được học hỏi từ nhiều thành phố ở Mỹ và châu Âu.", False, "passing-us"),
("en", "vnexpress_en", "Hanoi launches electric bus trial on ten routes",
 "Officials said the model drew on experience from cities in the US and Europe.", False, "passing-us"),
("vi", "tuoitre_vi", "Bác sĩ Việt mổ robot thành công cho bệnh nhân ung thư",
 "Kỹ thuật này được các bác sĩ học tại một bệnh viện ở Mỹ.", False, "passing-us"),
("en", "tuoitre_en", "Vietnamese surgeons perform first robotic liver transplant",
 "The team trained with doctors in the US and South Korea.", False, "passing-us"),
("vi", "dantri_vi", "Startup Việt gọi vốn 20 triệu USD",
 "Vòng gọi vốn do một quỹ đầu tư mạo hiểm của Mỹ dẫn dắt.", False, "passing-us"),
("en", "vietnamnet_en", "Vietnamese fintech raises 20 million USD",
 "The round was led by a Silicon Valley venture fund.", False, "passing-us"),
]

ITEMS_4 = [
# -- the two states' relations, more kinds (positives) ------------------------------------
("vi", "qdnd_vi", "Tàu Hải quân Mỹ thăm thành phố Đà Nẵng",
 "Tàu khu trục USS Halsey cùng 300 thủy thủ bắt đầu chuyến thăm 5 ngày tới Đà Nẵng.", True, "defence"),
("en", "qdnd_en", "US Navy destroyer arrives in Cam Ranh for port call",
 "Sailors will take part in community service and sports exchanges with the Vietnamese navy.", True, "defence"),
("vi", "vov_vi", "Mỹ bàn giao tàu tuần tra cho Cảnh sát biển Việt Nam",
 "Con tàu là tàu thứ tư Mỹ chuyển giao theo chương trình hỗ trợ an ninh biển.", True, "defence"),
("en", "vietnamplus_en", "US hands over training centre to Vietnam's peacekeeping department",
 "The 3 million USD facility will prepare officers for UN missions.", True, "defence"),
("vi", "vietnamplus_vi", "Hoa Kỳ hỗ trợ 15 triệu USD xử lý dioxin tại sân bay Biên Hòa",
 "Dự án do USAID tài trợ sẽ xử lý 500.000 m3 đất nhiễm dioxin.", True, "war-legacy"),
("en", "vnexpress_en", "Remains of US servicemen repatriated from Vietnam",
 "A ceremony was held at Da Nang airport to hand over the possible remains of American soldiers missing in the war.", True, "war-legacy"),
("vi", "tuoitre_vi", "Cựu binh Mỹ trao trả kỷ vật cho gia đình liệt sĩ Việt Nam",
 "Cuốn nhật ký được cựu binh Mỹ giữ hơn 50 năm đã về với gia đình liệt sĩ ở Nghệ An.", True, "war-legacy"),
("en", "vov_en", "American veterans return wartime diary to Vietnamese martyr's family",
 "The veteran kept the notebook for more than 50 years before returning it.", True, "war-legacy"),
("vi", "nhandan_vi", "Mỹ tài trợ rà phá bom mìn tại Quảng Bình",
 "Dự án 5 triệu USD do Bộ Ngoại giao Mỹ tài trợ kéo dài 3 năm.", True, "war-legacy"),
("en", "baochinhphu_en", "US pledges 10 million USD for UXO clearance in Quang Tri",
 "The funding will help clear 2,500 hectares of contaminated land.", True, "war-legacy"),
("vi", "vietnamnet_vi", "Đại sứ quán Mỹ cấp thị thực cho 30.000 sinh viên Việt Nam",
 "Số sinh viên Việt Nam du học tại Mỹ tiếp tục đứng thứ 5 thế giới.", True, "education"),
("en", "vnexpress_en", "US Embassy hosts education fair for Vietnamese students",
 "Representatives of 60 American universities met prospective students in Hanoi.", True, "education"),
("vi", "vov_vi", "Chương trình Fulbright trao học bổng cho 25 giảng viên Việt Nam",
 "Chương trình do Bộ Ngoại giao Mỹ tài trợ đã đào tạo hơn 1.300 người Việt Nam.", True, "education"),
("en", "vietnamnet_en", "Peace Corps volunteers to teach English in Vietnamese provinces",
 "The first group of American volunteers arrived in Hanoi under an agreement signed in 2020.", True, "education"),
("vi", "laodong_vi", "Mỹ hỗ trợ Việt Nam ứng phó lũ lụt miền Trung",
 "Cơ quan USAID công bố khoản viện trợ khẩn cấp 1 triệu USD cho các tỉnh bị ảnh hưởng.", True, "aid"),
("en", "tuoitre_en", "US provides 1 million USD in emergency aid for Vietnam typhoon victims",
 "The aid will provide shelter, clean water and hygiene kits in the worst-hit provinces.", True, "aid"),
("vi", "vnexpress_vi", "Mỹ áp thuế 46% lên hàng hóa Việt Nam",
 "Việt Nam nằm trong nhóm chịu mức thuế đối ứng cao nhất theo sắc lệnh của Tổng thống Trump.", True, "trade"),
("en", "vnexpress_en", "US slaps 46% tariff on Vietnamese goods",
 "Vietnam is among the countries hit hardest by the new reciprocal tariffs.", True, "trade"),
("vi", "thanhnien_vi", "Mỹ công nhận Việt Nam có nền kinh tế thị trường?",
 "Bộ Thương mại Mỹ đang xem xét đề nghị của Việt Nam về quy chế kinh tế thị trường.", True, "trade"),
("en", "vietnamplus_en", "US agency lifts duties on Vietnamese honey",
 "The US International Trade Commission ruled imports did not harm American producers.", True, "trade"),
("vi", "baochinhphu_vi", "Việt Nam cam kết mua thêm nông sản, máy bay của Mỹ",
 "Các doanh nghiệp Việt Nam ký thỏa thuận mua 2 tỷ USD hàng hóa Mỹ.", True, "trade"),
("en", "vov_en", "Vietnamese firms sign deals to buy 2 billion USD of US farm products",
 "The agreements were signed in Iowa during a trade mission led by the Agriculture Ministry.", True, "trade"),
("vi", "dantri_vi", "Mỹ tài trợ Việt Nam phòng chống HIV",
 "Chương trình PEPFAR đã hỗ trợ Việt Nam hơn 1 tỷ USD trong 20 năm qua.", True, "health"),
("en", "vietnamnews_en", "US CDC and Vietnam's Ministry of Health launch lab network",
 "The network will help detect emerging diseases faster.", True, "health"),
("vi", "vov_vi", "Mỹ và Việt Nam hợp tác ứng phó biến đổi khí hậu ở Đồng bằng sông Cửu Long",
 "Dự án 30 triệu USD giúp nông dân thích ứng với xâm nhập mặn.", True, "climate"),
("en", "vietnamnet_en", "US, Vietnam launch clean energy partnership",
 "The programme will support offshore wind and grid modernisation.", True, "climate"),
("vi", "tuoitre_vi", "Tổng Lãnh sự Mỹ thăm Cần Thơ",
 "Tổng Lãnh sự Hoa Kỳ tại TP Hồ Chí Minh làm việc với lãnh đạo thành phố về hợp tác giáo dục.", True, "embassy"),
("en", "tuoitre_en", "US consul general visits Mekong Delta province",
 "She discussed cooperation in climate adaptation and education with Can Tho leaders.", True, "embassy"),
("vi", "vietnamnet_vi", "Đại sứ Việt Nam trình quốc thư lên Tổng thống Mỹ",
 "Tại Nhà Trắng, Đại sứ chuyển lời chào của lãnh đạo Việt Nam tới Tổng thống.", True, "embassy"),
("en", "vietnamplus_en", "New Vietnamese ambassador presents credentials to US President",
 "The ceremony took place at the White House.", True, "embassy"),
("vi", "nhandan_vi", "Đoàn Hạ nghị sĩ Mỹ thăm Việt Nam",
 "Đoàn gồm 6 Hạ nghị sĩ sẽ làm việc tại Hà Nội và TP Hồ Chí Minh.", True, "bilateral"),
("en", "nhandan_en", "US senators visit Hanoi to discuss trade, war legacy",
 "The delegation met Vietnamese leaders and toured a dioxin remediation site.", True, "bilateral"),
("vi", "vietnam_vn_vi", "Hai nước thúc đẩy hợp tác bán dẫn",
 "Bộ Khoa học và Công nghệ Việt Nam và Bộ Ngoại giao Mỹ ký kết chương trình đào tạo 50.000 kỹ sư.", True, "semiconductors"),
("en", "vietnamnews_en", "Vietnam, US deepen semiconductor cooperation",
 "The US State Department's ITSI fund will support workforce training.", True, "semiconductors"),
]

ITEMS_5 = [
# -- Vietnam's relations with another country, the US in passing (negatives) -------------
("vi", "vietnamplus_vi", "Việt Nam - Nhật Bản nâng cấp hợp tác an ninh mạng",
 "Hai bên cũng trao đổi về tình hình khu vực, trong đó có cạnh tranh chiến lược Mỹ - Trung.", False, "other-bilateral"),
("en", "vietnamplus_en", "Vietnam, Japan boost cybersecurity cooperation",
 "The two sides also discussed regional issues, including US-China competition.", False, "other-bilateral"),
("vi", "nhandan_vi", "Thủ tướng hội đàm với Thủ tướng Australia",
 "Hai Thủ tướng thảo luận về thương mại, giáo dục và tình hình Biển Đông.", False, "other-bilateral"),
("en", "vgp_en", "Vietnam, Republic of Korea aim for 150 billion USD trade",
 "The two sides said they would diversify supply chains amid US tariff uncertainty.", False, "other-bilateral"),
("vi", "tuoitre_vi", "Việt Nam và Trung Quốc ký 14 văn kiện hợp tác",
 "Các văn kiện trải rộng từ đường sắt, thương mại đến nông sản.", False, "other-bilateral"),
("en", "vov_en", "Vietnam, India hold maritime security dialogue",
 "Delegations discussed freedom of navigation in the South China Sea.", False, "other-bilateral"),
("vi", "qdnd_vi", "Việt Nam - Lào tăng cường hợp tác quốc phòng",
 "Hai Bộ trưởng Quốc phòng ký kế hoạch hợp tác năm 2026.", False, "other-bilateral"),
("en", "vietnamnet_en", "Vietnam, EU mark fifth year of free trade agreement",
 "Trade between Vietnam and the bloc has grown by 40 percent, outpacing growth with the US.", False, "other-bilateral"),
("vi", "vov_vi", "Việt Nam - Pháp ký thỏa thuận hợp tác hàng không",
 "Thỏa thuận mở đường cho các hãng bay hai nước tăng tần suất bay.", False, "other-bilateral"),
("en", "nhandan_en", "Vietnam and Russia discuss energy cooperation",
 "The two sides agreed to expand oil and gas exploration off Vietnam's coast.", False, "other-bilateral"),
("vi", "baochinhphu_vi", "Việt Nam - Singapore hợp tác kinh tế số",
 "Hai nước ký kết thỏa thuận đối tác kinh tế xanh - kinh tế số.", False, "other-bilateral"),
("en", "vnexpress_en", "Chinese foreign minister to visit Vietnam",
 "He will co-chair the steering committee on bilateral cooperation in Hanoi.", False, "other-bilateral"),
("vi", "vnexpress_vi", "Ngoại trưởng Trung Quốc thăm Việt Nam",
 "Ông sẽ đồng chủ trì phiên họp Ủy ban Chỉ đạo hợp tác song phương tại Hà Nội.", False, "other-bilateral"),
# -- Vietnam in multilateral settings, the US among others (negatives) --------------------
("en", "vov_en", "ASEAN foreign ministers meet partners in Kuala Lumpur",
 "Ministers from ASEAN, China, Japan, South Korea, the US and Russia attended.", False, "list-of-countries"),
("vi", "vietnamnet_vi", "Việt Nam tham dự Đối thoại Shangri-La",
 "Bộ trưởng Quốc phòng các nước Mỹ, Trung Quốc, Nhật Bản, Úc phát biểu tại diễn đàn.", False, "list-of-countries"),
("en", "tuoitre_en", "APEC trade ministers gather in Korea",
 "Delegates from 21 economies, including Vietnam, the US and China, discussed supply chains.", False, "list-of-countries"),
("vi", "nhandan_vi", "Hội nghị thượng đỉnh G7 mở rộng có Việt Nam tham dự",
 "Lãnh đạo Mỹ, Nhật Bản, Đức, Pháp, Anh, Italy và Canada cùng các khách mời thảo luận về an ninh năng lượng.", False, "list-of-countries"),
# -- short items, the US implied by an office or a name (positives) ------------------------
("vi", "vietnam_vn_vi", "Đại sứ Knapper thăm Huế",
 "Đại sứ Marc Knapper làm việc với lãnh đạo tỉnh Thừa Thiên Huế về bảo tồn di sản.", True, "embassy"),
("en", "vietnamnews_en", "Ambassador Knapper meets Quang Tri leaders on UXO clearance",
 "He pledged continued support for mine action in the province.", True, "embassy"),
("vi", "vov_vi", "Bộ trưởng Bộ Công an tiếp Giám đốc FBI",
 "Hai bên trao đổi về hợp tác phòng chống tội phạm xuyên quốc gia và tội phạm mạng.", True, "implied"),
("en", "vov_en", "Public Security Minister receives FBI Director",
 "They discussed cooperation against cybercrime and human trafficking.", True, "implied"),
("vi", "laodong_vi", "Bộ trưởng Tài chính làm việc với Bộ trưởng Tài chính Mỹ Scott Bessent",
 "Hai bên trao đổi về chính sách tỷ giá và thương mại song phương.", True, "implied"),
("en", "tuoitre_en", "Trade Minister meets US Commerce Secretary on tariffs",
 "The minister asked Washington to consider Vietnam's efforts to narrow the trade surplus.", True, "implied"),
("vi", "thanhnien_vi", "Thứ trưởng Ngoại giao làm việc với Trợ lý Ngoại trưởng Mỹ",
 "Hai bên trao đổi về chuẩn bị các chuyến thăm cấp cao sắp tới.", True, "implied"),
("en", "baochinhphu_en", "Deputy PM attends US Independence Day reception",
 "He said ties with the United States had grown strongly over the past 30 years.", True, "implied"),
# -- US states, companies and universities with Vietnam's government (positives) ----------
("vi", "vietnamplus_vi", "Quảng Ninh ký kết hợp tác với bang Arizona",
 "Hai địa phương sẽ hợp tác về giáo dục đại học, bán dẫn và du lịch.", True, "us-state"),
("en", "vietnamplus_en", "Binh Duong, Georgia state sign sister-province deal",
 "The agreement covers trade promotion, logistics and education exchanges.", True, "us-state"),
("vi", "baochinhphu_vi", "Thủ tướng làm việc với các tập đoàn công nghệ Mỹ tại Thung lũng Silicon",
 "Thủ tướng đề nghị Nvidia, Google và Microsoft tăng đầu tư vào Việt Nam.", True, "us-company"),
("en", "vgp_en", "PM meets Nvidia CEO, invites AI investment",
 "The Prime Minister asked Nvidia to set up a research centre and help train engineers.", True, "us-company"),
("vi", "vietnamnet_vi", "Bộ Giáo dục hợp tác với Đại học bang Arizona đào tạo kỹ sư",
 "Chương trình nằm trong sáng kiến bán dẫn do Chính phủ Mỹ hỗ trợ.", True, "us-university"),
("en", "vietnamnet_en", "Education Ministry, Arizona State University sign semiconductor training deal",
 "The programme is funded by the US CHIPS Act's international fund.", True, "us-university"),
# -- US companies' business in Vietnam without the states (negatives) ---------------------
("en", "vnexpress_en", "Coca-Cola Vietnam launches new bottling line in Ha Nam",
 "The company said the plant would create 300 jobs.", False, "us-company"),
("vi", "dantri_vi", "McDonald's đóng cửa thêm một cửa hàng ở TP Hồ Chí Minh",
 "Chuỗi thức ăn nhanh này cho biết đang tái cấu trúc hoạt động tại Việt Nam.", False, "us-company"),
("en", "tuoitre_en", "Netflix adds more Vietnamese films to its catalogue",
 "Ten local titles will stream worldwide from next month.", False, "us-company"),
("vi", "vnexpress_vi", "Nvidia vượt mốc 5.000 tỷ USD vốn hóa",
 "Cổ phiếu Nvidia tăng 3% trên sàn Nasdaq sau báo cáo lợi nhuận.", False, "us-company"),
# -- a bilateral phrase about another pair (negatives) ------------------------------------
("vi", "tuoitre_vi", "Quan hệ Mỹ - Trung căng thẳng, doanh nghiệp Việt Nam hưởng lợi?",
 "Nhiều nhà máy dịch chuyển khỏi Trung Quốc trong bối cảnh cạnh tranh Mỹ - Trung.", False, "other-pair"),
("en", "vietnamnet_en", "US-China tensions push factories to Southeast Asia",
 "Manufacturers are moving production to Vietnam, Thailand and Malaysia.", False, "other-pair"),
("vi", "vov_vi", "Hàn Quốc - Mỹ đạt thỏa thuận thuế quan",
 "Seoul cam kết đầu tư 350 tỷ USD vào Mỹ để được giảm thuế ô tô.", False, "other-pair"),
("en", "vov_en", "Japan, US finalise tariff deal",
 "Tokyo will invest 550 billion USD in the US in exchange for lower car tariffs.", False, "other-pair"),
]

ITEMS = ITEMS_1 + ITEMS_2 + ITEMS_3 + ITEMS_4 + ITEMS_5


def _digest(salt: str, key: str) -> int:
    return hashlib.sha256(f"{salt}:{key}".encode()).digest()[0]


def split_of(key: str) -> str:
    """tuning or checking, fixed by a salted hash of the key (never re-drawn)."""
    return "tuning" if _digest(SPLIT_SALT, key) % 2 == 0 else "checking"


def form_of(key: str, lang: str) -> str:
    """nfc, nfd or no-diacritics for a Vietnamese item (1 in 8 each for the last two)."""
    if lang != "vi":
        return "nfc"
    return {0: "nfd", 1: "no-diacritics"}.get(_digest(FORM_SALT, key) % 8, "nfc")


def in_form(text: str, form: str) -> str:
    """``text`` printed in ``form``."""
    if form == "nfd":
        return unicodedata.normalize("NFD", text)
    if form == "no-diacritics":
        bare = "".join(c for c in unicodedata.normalize("NFD", text)
                       if not unicodedata.combining(c))
        return bare.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", text)


def main() -> int:
    rows = []
    for number, (lang, source, title, lead, relevant, kind) in enumerate(ITEMS, start=1):
        key = f"m-{number:03d}"
        form = form_of(key, lang)
        rows.append({"id": key, "lang": lang, "source": source, "title": in_form(title, form),
                     "text": in_form(lead, form), "relevant": relevant, "kind": kind,
                     "form": form})
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                   encoding="utf-8")
    known = {line.strip() for part in ("tuning", "checking")
             for line in (SPLIT_DIR / f"{part}.txt").read_text(encoding="utf-8").splitlines()}
    for part in ("tuning", "checking"):
        new = [r["id"] for r in rows if r["id"] not in known and split_of(r["id"]) == part]
        if new:
            with open(SPLIT_DIR / f"{part}.txt", "a", encoding="utf-8") as handle:
                handle.write("".join(f"{key}\n" for key in new))
    counts = {part: sum(split_of(r["id"]) == part for r in rows)
              for part in ("tuning", "checking")}
    negatives = sum(not r["relevant"] for r in rows)
    print(f"{len(rows)} items ({negatives} not relevant, {negatives / len(rows):.0%}); "
          f"tuning {counts['tuning']}, checking {counts['checking']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
