"""好差评: ratings from every channel (device, SMS link, slip box, web), 差评 follow-ups, appeals.

One rating per case per channel per node (一次一评). A 差评 opens a follow-up; an unrated finished
case gets the hall's default after N natural days; a rating is never edited, only voided through
申诉复核 with the reason kept.
"""
