"""Camera calibration of a fixed camera: ``people`` (horizon and camera height from people of known
height: the model and its robust fit), ``bootstrap`` (their cluster-bootstrap intervals), ``warnings``
(why a fit is weak: at the search box's edge, few people, head height, vehicles), ``floor`` (a
floor-plane pose from points measured on the floor). Nothing is imported here."""
